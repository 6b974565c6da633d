{
  "targets": [
    {
      "target_name": "tsvs_native",
      "sources": [
        "native/addon.cc",
        "native/affinity.cc",
        "native/afpacket.cc",
        "native/errors.cc",
        "native/ifinfo.cc",
        "native/memory.cc",
        "native/tun.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags": ["-fvisibility=hidden", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-fvisibility=hidden", "-O2", "-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
