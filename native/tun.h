// TUN device (IFF_TUN | IFF_NO_PI): batched reads into an arena with Ethernet headroom,
// batched writes, libuv readiness. See tun.cc.
#pragma once
#include <napi.h>

namespace tsvs {
void InitTun(Napi::Env env, Napi::Object exports);
}  // namespace tsvs
