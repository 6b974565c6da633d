// setThreadAffinity(cpus): pins the CALLING thread (pthread_setaffinity_np on
// pthread_self) to the given CPU numbers. Called from inside a worker thread it pins
// that worker only; the main thread and libuv's pool keep their own masks.
// getThreadAffinity(): the calling thread's CPU list. No policy here: which CPUs is
// decided in TypeScript (src/control/cpu-layout.ts).
#include "affinity.h"
#include "errors.h"
#include <pthread.h>
#include <sched.h>

namespace tsvs {

static Napi::Value SetThreadAffinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    Napi::TypeError::New(env, "setThreadAffinity(cpus: number[])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array list = info[0].As<Napi::Array>();
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsNumber()) {
      Napi::TypeError::New(env, "cpus must be numbers").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int cpu = v.As<Napi::Number>().Int32Value();
    if (cpu < 0 || cpu >= CPU_SETSIZE) {
      Napi::RangeError::New(env, "cpu number out of range").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    CPU_SET(cpu, &set);
  }
  int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (err != 0) ThrowErrno(env, err, "pthread_setaffinity_np");
  return env.Undefined();
}

static Napi::Value GetThreadAffinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  cpu_set_t set;
  CPU_ZERO(&set);
  int err = pthread_getaffinity_np(pthread_self(), sizeof(set), &set);
  if (err != 0) {
    ThrowErrno(env, err, "pthread_getaffinity_np");
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &set)) out.Set(n++, Napi::Number::New(env, cpu));
  return out;
}

void InitAffinity(Napi::Env env, Napi::Object exports) {
  exports.Set("setThreadAffinity", Napi::Function::New(env, SetThreadAffinity, "setThreadAffinity"));
  exports.Set("getThreadAffinity", Napi::Function::New(env, GetThreadAffinity, "getThreadAffinity"));
}

}  // namespace tsvs
