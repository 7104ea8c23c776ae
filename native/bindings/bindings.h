// One registration function per kernel family; native/addon.cc calls them all.
#pragma once

#include <napi.h>

namespace kiln::bindings {

void register_elementwise(Napi::Env env, Napi::Object exports);  // unary binary compare where clamp
void register_reduce(Napi::Env env, Napi::Object exports);       // reduce argReduce
void register_softmax(Napi::Env env, Napi::Object exports);      // softmax softmaxBackward
void register_matmul(Napi::Env env, Napi::Object exports);       // matmul
void register_strided(Napi::Env env, Napi::Object exports);      // stridedCopy stridedScatter
void register_index(Napi::Env env, Napi::Object exports);        // indexSelect indexAdd gather scatterAdd
void register_threads(Napi::Env env, Napi::Object exports);      // setNumThreads getNumThreads

}  // namespace kiln::bindings
