// ifInfo(name): the facts about one interface that the data plane needs, read with the
// classic ioctls on a throwaway AF_INET datagram socket (no privilege needed):
//   SIOCGIFINDEX -> ifindex, SIOCGIFHWADDR -> MAC and ARPHRD type, SIOCGIFMTU -> mtu,
//   SIOCGIFFLAGS -> flags (IFF_UP, IFF_RUNNING, ...).
// An unknown name fails with ENODEV from the first ioctl.
#include "ifinfo.h"
#include "errors.h"
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <string>

namespace tsvs {

namespace {

// Closes the probe socket on every path.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

bool Ioctl(Napi::Env env, int fd, unsigned long req, ifreq* ifr, const char* name) {
  if (ioctl(fd, req, ifr) == 0) return true;
  ThrowErrno(env, errno, name);
  return false;
}

}  // namespace

bool FillIfreq(Napi::Env env, const std::string& name, ifreq* ifr) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    Napi::RangeError::New(env, "interface name must be 1 to 15 bytes").ThrowAsJavaScriptException();
    return false;
  }
  std::memset(ifr, 0, sizeof(*ifr));
  std::memcpy(ifr->ifr_name, name.data(), name.size());
  return true;
}

static Napi::Value IfInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "ifInfo(name): name must be a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  ifreq ifr;
  if (!FillIfreq(env, name, &ifr)) return env.Undefined();

  Fd s{socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) {
    ThrowErrno(env, errno, "socket(AF_INET)");
    return env.Undefined();
  }
  if (!Ioctl(env, s.fd, SIOCGIFINDEX, &ifr, "ioctl(SIOCGIFINDEX)")) return env.Undefined();
  int ifindex = ifr.ifr_ifindex;
  if (!Ioctl(env, s.fd, SIOCGIFHWADDR, &ifr, "ioctl(SIOCGIFHWADDR)")) return env.Undefined();
  int hwType = ifr.ifr_hwaddr.sa_family;
  uint8_t mac[6];
  std::memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  if (!Ioctl(env, s.fd, SIOCGIFMTU, &ifr, "ioctl(SIOCGIFMTU)")) return env.Undefined();
  int mtu = ifr.ifr_mtu;
  if (!Ioctl(env, s.fd, SIOCGIFFLAGS, &ifr, "ioctl(SIOCGIFFLAGS)")) return env.Undefined();
  unsigned flags = static_cast<unsigned short>(ifr.ifr_flags);

  Napi::Object o = Napi::Object::New(env);
  o.Set("name", Napi::String::New(env, name));
  o.Set("ifindex", Napi::Number::New(env, ifindex));
  o.Set("mac", Napi::Buffer<uint8_t>::Copy(env, mac, 6));
  o.Set("hwType", Napi::Number::New(env, hwType));
  o.Set("mtu", Napi::Number::New(env, mtu));
  o.Set("flags", Napi::Number::New(env, flags));
  o.Set("up", Napi::Boolean::New(env, (flags & IFF_UP) != 0));
  o.Set("running", Napi::Boolean::New(env, (flags & IFF_RUNNING) != 0));
  return o;
}

void InitIfInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("ifInfo", Napi::Function::New(env, IfInfo, "ifInfo"));
}

}  // namespace tsvs
