// AF_PACKET socket with a TPACKET_V3 RX ring, batched sendmmsg TX and libuv readiness.
#pragma once
#include <napi.h>

namespace tsvs {
void InitAfPacket(Napi::Env env, Napi::Object exports);
}
