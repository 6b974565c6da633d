// Interface facts (ifindex, MAC, MTU, flags) by name.
#pragma once
#include <napi.h>
#include <net/if.h>
#include <string>

namespace tsvs {
void InitIfInfo(Napi::Env env, Napi::Object exports);
// Copies `name` into a zeroed ifreq; throws RangeError (and returns false) unless it fits IFNAMSIZ.
bool FillIfreq(Napi::Env env, const std::string& name, ifreq* ifr);
}  // namespace tsvs
