// One registration function per kernel family; native/addon.cc calls them all.
#pragma once

#include <napi.h>

namespace kiln::bindings {

void register_elementwise(Napi::Env env, Napi::Object exports);  // unary binary compare where clamp
void register_reduce(Napi::Env env, Napi::Object exports);       // reduce argReduce
void register_softmax(Napi::Env env, Napi::Object exports);      // softmax softmaxBackward
void register_matmul(Napi::Env env, Napi::Object exports);       // matmul matmulBFloat16 matmulBFloat16ToFloat
void register_sgemm(Napi::Env env, Napi::Object exports);        // sgemm
void register_strided(Napi::Env env, Napi::Object exports);      // stridedCopy stridedScatter
void register_index(Napi::Env env, Napi::Object exports);        // indexSelect indexAdd gather scatterAdd
void register_loss(Napi::Env env, Napi::Object exports);         // softmaxCrossEntropy softmaxCrossEntropyBackward
void register_optim(Napi::Env env, Napi::Object exports);        // sgdStep adagradStep rmspropStep adadeltaStep adamStep nadamStep adamaxStep
void register_conv(Napi::Env env, Napi::Object exports);         // conv2d conv2dBackwardInput conv2dBackwardWeight
void register_pool(Napi::Env env, Napi::Object exports);         // maxPool2d avgPool2d adaptiveAvgPool2d (+ Backward)
void register_threads(Napi::Env env, Napi::Object exports);      // setNumThreads getNumThreads
void register_memory(Napi::Env env, Napi::Object exports);       // adviseHugePages
void register_interpolate(Napi::Env env, Napi::Object exports);  // upsample2d upsample2dBackward
void register_rnn(Napi::Env env, Napi::Object exports);          // rnnForward rnnBackward lstmCellsForward
void register_sort(Napi::Env env, Napi::Object exports);         // sort topk
void register_scan(Napi::Env env, Napi::Object exports);         // scan
void register_attention(Napi::Env env, Napi::Object exports);    // attentionForward attentionBackward
void register_queue(Napi::Env env, Napi::Object exports);        // beginQueue takeQueue runQueue isQueueing
void register_dropout(Napi::Env env, Napi::Object exports);      // dropout
void register_bfloat16(Napi::Env env, Napi::Object exports);     // roundBFloat16
void register_norm(Napi::Env env, Napi::Object exports);         // layerNorm layerNormBackward batchNorm batchNormBackward
void register_quantized(Napi::Env env, Napi::Object exports);    // qlinearPackWeights qlinearDynamic qgemmIsa

}  // namespace kiln::bindings
