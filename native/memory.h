// Large page-aligned memory for the connection table.
#pragma once
#include <napi.h>

namespace tsvs {
void InitMemory(Napi::Env env, Napi::Object exports);
}
