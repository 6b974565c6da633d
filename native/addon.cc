// Module entry: registers each native area's functions. Policy lives in TypeScript;
// this addon only does syscalls and memory.
#include <napi.h>
#include "affinity.h"
#include "afpacket.h"
#include "ifinfo.h"
#include "memory.h"
#include "tun.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tsvs::InitMemory(env, exports);
  tsvs::InitIfInfo(env, exports);
  tsvs::InitAfPacket(env, exports);
  tsvs::InitAffinity(env, exports);
  tsvs::InitTun(env, exports);
  return exports;
}

NODE_API_MODULE(tsvs_native, Init)
