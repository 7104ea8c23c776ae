# The kiln native addon. Its source list lives in native/sources.json (shared with CMakeLists.txt).
{
  "targets": [
    {
      "target_name": "kiln",
      "sources": [
        "<!@(node -p \"const s = require('./native/sources.json'); s.kernels.concat(s.bindings).join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20", "-std=c++20"],
      "cflags_cc": ["-std=c++17", "-O3"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["OS=='linux'", { "cflags_cc+": ["-Wno-psabi"] }]
      ],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "msvs_settings": {
        "VCCLCompilerTool": {
          "AdditionalOptions": ["/std:c++17", "/O2"]
        }
      }
    }
  ]
}
