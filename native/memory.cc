// allocHuge(bytes, huge): an anonymous mmap handed to JS as an ArrayBuffer (zero-filled,
// page-aligned so 32-byte connection records never straddle a cache line). With huge=true
// it asks for transparent huge pages (madvise MADV_HUGEPAGE), which the kernel grants in
// "madvise" THP mode and which cut TLB misses for a table of hundreds of MB.
// The mapping is released by the ArrayBuffer's finalizer.
#include "memory.h"
#include "errors.h"
#include <sys/mman.h>
#include <cerrno>

namespace tsvs {

static void FreeMapping(Napi::Env, void* data, size_t* len) {
  munmap(data, *len);
  delete len;
}

static Napi::Value AllocHuge(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double want = info[0].As<Napi::Number>().DoubleValue();
  bool huge = info.Length() > 1 && info[1].ToBoolean().Value();
  size_t len = static_cast<size_t>(want);
  const size_t align = huge ? (2u << 20) : 4096u;
  len = (len + align - 1) & ~(align - 1);
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    ThrowErrno(env, errno, "mmap");
    return env.Undefined();
  }
  if (huge && madvise(p, len, MADV_HUGEPAGE) != 0) {
    int err = errno;
    munmap(p, len);
    ThrowErrno(env, err, "madvise");
    return env.Undefined();
  }
  size_t* hint = new size_t(len);
  return Napi::ArrayBuffer::New(env, p, len, FreeMapping, hint);
}

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("allocHuge", Napi::Function::New(env, AllocHuge, "allocHuge"));
}

}  // namespace tsvs
