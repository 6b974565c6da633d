// Native errors surface in JS as an Error with .code (errno name), .errno and .syscall,
// so the TypeScript side (src/io/native.ts) can map them to clear messages.
#pragma once
#include <napi.h>

namespace tsvs {
// Throws (as a pending JS exception) an Error for errno `err` raised by `syscall`.
void ThrowErrno(Napi::Env env, int err, const char* syscall);
// The same Error, returned rather than thrown (to pass to a callback).
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall);
const char* ErrnoName(int err);
}  // namespace tsvs
