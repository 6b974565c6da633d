// FdPoller<Derived>: the libuv readiness plumbing shared by the fd-owning ObjectWraps
// (PacketSocket in afpacket.cc, TunDevice in tun.cc). Derived inherits FdPoller<Derived>
// instead of Napi::ObjectWrap<Derived>, adds the JS methods start/stop/ref/unref with
// AddPollMethods() in its Define(), and keeps its fd (handed over by the PollFd() hook).
//
// start(cb) registers the fd with libuv (uv_poll, level-triggered, readable); cb(err?) runs
// on the loop thread when the fd may be readable. While started the object is kept alive
// (ObjectWrap Ref) and keeps the loop alive unless unref(); stop() undoes both and drops cb.
// A poll error (libuv stops the handle) is passed to cb as an errno Error whose syscall is
// the name given to the constructor; PollErrno() may replace libuv's errno with a better one
// (afpacket: the socket's SO_ERROR). An exception thrown by cb becomes an uncaught exception.
// Derived calls StopPolling() from its close() and ClosePollHandle() when it releases the
// fd (also from its destructor: no JS calls there).
#pragma once
#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <vector>

#include "errors.h"

namespace tsvs {

template <typename Derived>
class FdPoller : public Napi::ObjectWrap<Derived> {
 protected:
  using Wrap = Napi::ObjectWrap<Derived>;

  FdPoller(const Napi::CallbackInfo& info, const char* pollSyscall) : Wrap(info), pollSyscall_(pollSyscall) {}

  // The fd to poll; < 0 when closed.
  virtual int PollFd() const = 0;
  // The errno reported for a poll error: libuv's by default.
  virtual int PollErrno(int uvErrno) const { return uvErrno; }

  // start, stop, ref, unref.
  static void AddPollMethods(std::vector<typename Wrap::PropertyDescriptor>* props) {
    using Cb = typename Wrap::InstanceMethodCallback;
    props->push_back(Wrap::InstanceMethod("start", static_cast<Cb>(&FdPoller::Start)));
    props->push_back(Wrap::InstanceMethod("stop", static_cast<Cb>(&FdPoller::Stop)));
    props->push_back(Wrap::InstanceMethod("ref", static_cast<Cb>(&FdPoller::RefPoll)));
    props->push_back(Wrap::InstanceMethod("unref", static_cast<Cb>(&FdPoller::UnrefPoll)));
  }

  // Stops polling (releasing the Ref that kept us alive) and drops the callback.
  void StopPolling() {
    if (poll_ && polling_) uv_poll_stop(poll_);
    if (polling_) {
      polling_ = false;
      this->Unref();
    }
    callback_.Reset();
  }

  // Closes the poll handle (before the fd is closed). No JS calls: safe in a finalizer.
  void ClosePollHandle() {
    if (poll_) {
      if (polling_) uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    polling_ = false;
  }

 private:
  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<FdPoller*>(handle->data);
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    Napi::Object recv = self->Value();  // alive: we hold a reference while polling
    Napi::Value arg = env.Undefined();
    if (status < 0) {
      arg = ErrnoError(env, self->PollErrno(-status), self->pollSyscall_).Value();
      if (self->polling_) {
        self->polling_ = false;
        self->Unref();
      }
    }
    Napi::Function cb = self->callback_.IsEmpty() ? Napi::Function() : self->callback_.Value();
    if (cb.IsEmpty()) return;
    cb.MakeCallback(recv, {arg}, nullptr);
    if (env.IsExceptionPending()) {
      // Nothing above us can catch it: make it an uncaught exception, as for any handle.
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = PollFd();
    if (fd < 0) {
      ThrowErrno(env, EBADF, "uv_poll_start");
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "start(callback: function)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!poll_) {
      uv_loop_s* loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
        Napi::Error::New(env, "start: no libuv loop").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      poll_ = new uv_poll_t;
      int r = uv_poll_init(loop, poll_, fd);
      if (r < 0) {
        delete poll_;
        poll_ = nullptr;
        ThrowErrno(env, -r, "uv_poll_init");
        return env.Undefined();
      }
      poll_->data = this;
      if (!loopRef_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    }
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    int r = uv_poll_start(poll_, UV_READABLE, OnPoll);
    if (r < 0) {
      ThrowErrno(env, -r, "uv_poll_start");
      return env.Undefined();
    }
    if (!polling_) {
      polling_ = true;
      this->Ref();  // a started object is not collected
    }
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopPolling();
    return info.Env().Undefined();
  }

  Napi::Value RefPoll(const Napi::CallbackInfo& info) {
    loopRef_ = true;
    if (poll_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  Napi::Value UnrefPoll(const Napi::CallbackInfo& info) {
    loopRef_ = false;
    if (poll_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  const char* pollSyscall_;
  uv_poll_t* poll_ = nullptr;
  bool polling_ = false;
  bool loopRef_ = true;
  Napi::FunctionReference callback_;
};

}  // namespace tsvs
