// CPU affinity of the calling thread (worker pinning).
#pragma once
#include <napi.h>

namespace tsvs {
void InitAffinity(Napi::Env env, Napi::Object exports);
}
