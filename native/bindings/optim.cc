// sgdStep, adagradStep, rmspropStep, adadeltaStep, adamStep, nadamStep, adamaxStep: see
// Backend in lib/backend/backend.ts. Each takes (param, grad, state buffers..., hyperparameters);
// every buffer the options use must have param's length, unused ones are ignored.
#include "../kernels/optim.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// The step counter: an integer ≥ 1.
int64_t read_step(Args& args, size_t index) { return args.integer(index, "step", 1, kMaxSafeInteger); }

// The Float32Array at `index`, which must hold param's `n` elements when the options `use` it
// (a gradient or a state buffer); an unused buffer is only type-checked.
Array<float> like_param(Args& args, size_t index, const char* name, int64_t n, bool use = true) {
  const Array<float> buffer = args.float32(index, name);
  if (use) args.require_same_length(name, buffer.length, "param", n);
  return buffer;
}

// sgdStep(param, grad, momentumBuffer, lr, momentum, dampening, weightDecay, nesterov, firstStep)
napi_value sgd_step(napi_env env, napi_callback_info info) {
  Args args(env, info, "sgdStep", 9);
  const Array<float> param = args.float32(0, "param");
  SgdConfig c{};
  c.lr = args.number(3, "lr");
  c.momentum = args.number(4, "momentum");
  c.dampening = args.number(5, "dampening");
  c.weight_decay = args.number(6, "weightDecay");
  c.nesterov = args.boolean(7, "nesterov");
  c.first_step = args.boolean(8, "firstStep");
  const Array<float> grad = like_param(args, 1, "grad", param.length);
  const Array<float> buf = like_param(args, 2, "momentumBuffer", param.length, c.momentum != 0.0);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::sgd_step(param.data, grad.data, buf.data, param.length, c); });
}

// adagradStep(param, grad, sum, lr, lrDecay, weightDecay, eps, step)
napi_value adagrad_step(napi_env env, napi_callback_info info) {
  Args args(env, info, "adagradStep", 8);
  const Array<float> param = args.float32(0, "param");
  const Array<float> grad = like_param(args, 1, "grad", param.length);
  const Array<float> sum = like_param(args, 2, "sum", param.length);
  AdagradConfig c{};
  c.lr = args.number(3, "lr");
  c.lr_decay = args.number(4, "lrDecay");
  c.weight_decay = args.number(5, "weightDecay");
  c.eps = args.number(6, "eps");
  c.step = read_step(args, 7);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::adagrad_step(param.data, grad.data, sum.data, param.length, c); });
}

// rmspropStep(param, grad, squareAvg, gradAvg, momentumBuffer, lr, alpha, eps, weightDecay, momentum, centered)
napi_value rmsprop_step(napi_env env, napi_callback_info info) {
  Args args(env, info, "rmspropStep", 11);
  const Array<float> param = args.float32(0, "param");
  RmspropConfig c{};
  c.lr = args.number(5, "lr");
  c.alpha = args.number(6, "alpha");
  c.eps = args.number(7, "eps");
  c.weight_decay = args.number(8, "weightDecay");
  c.momentum = args.number(9, "momentum");
  c.centered = args.boolean(10, "centered");
  const Array<float> grad = like_param(args, 1, "grad", param.length);
  const Array<float> square_avg = like_param(args, 2, "squareAvg", param.length);
  const Array<float> grad_avg = like_param(args, 3, "gradAvg", param.length, c.centered);
  const Array<float> buf = like_param(args, 4, "momentumBuffer", param.length, c.momentum > 0.0);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::rmsprop_step(param.data, grad.data, square_avg.data, grad_avg.data, buf.data, param.length, c);
  });
}

// adadeltaStep(param, grad, squareAvg, accDelta, lr, rho, eps, weightDecay)
napi_value adadelta_step(napi_env env, napi_callback_info info) {
  Args args(env, info, "adadeltaStep", 8);
  const Array<float> param = args.float32(0, "param");
  const Array<float> grad = like_param(args, 1, "grad", param.length);
  const Array<float> square_avg = like_param(args, 2, "squareAvg", param.length);
  const Array<float> acc_delta = like_param(args, 3, "accDelta", param.length);
  AdadeltaConfig c{};
  c.lr = args.number(4, "lr");
  c.rho = args.number(5, "rho");
  c.eps = args.number(6, "eps");
  c.weight_decay = args.number(7, "weightDecay");
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::adadelta_step(param.data, grad.data, square_avg.data, acc_delta.data, param.length, c);
  });
}

// adamStep(param, grad, expAvg, expAvgSq, maxExpAvgSq, lr, beta1, beta2, eps, weightDecay, step, amsgrad, decoupled)
napi_value adam_step(napi_env env, napi_callback_info info) {
  Args args(env, info, "adamStep", 13);
  const Array<float> param = args.float32(0, "param");
  AdamConfig c{};
  c.lr = args.number(5, "lr");
  c.beta1 = args.number(6, "beta1");
  c.beta2 = args.number(7, "beta2");
  c.eps = args.number(8, "eps");
  c.weight_decay = args.number(9, "weightDecay");
  c.step = read_step(args, 10);
  c.amsgrad = args.boolean(11, "amsgrad");
  c.decoupled_weight_decay = args.boolean(12, "decoupled");
  const Array<float> grad = like_param(args, 1, "grad", param.length);
  const Array<float> exp_avg = like_param(args, 2, "expAvg", param.length);
  const Array<float> exp_avg_sq = like_param(args, 3, "expAvgSq", param.length);
  const Array<float> max_exp_avg_sq = like_param(args, 4, "maxExpAvgSq", param.length, c.amsgrad);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::adam_step(param.data, grad.data, exp_avg.data, exp_avg_sq.data, max_exp_avg_sq.data, param.length, c);
  });
}

// nadamStep(param, grad, expAvg, expAvgSq, lr, beta1, beta2, eps, weightDecay, step, mu, muNext, muProduct)
napi_value nadam_step(napi_env env, napi_callback_info info) {
  Args args(env, info, "nadamStep", 13);
  const Array<float> param = args.float32(0, "param");
  const Array<float> grad = like_param(args, 1, "grad", param.length);
  const Array<float> exp_avg = like_param(args, 2, "expAvg", param.length);
  const Array<float> exp_avg_sq = like_param(args, 3, "expAvgSq", param.length);
  NadamConfig c{};
  c.lr = args.number(4, "lr");
  c.beta1 = args.number(5, "beta1");
  c.beta2 = args.number(6, "beta2");
  c.eps = args.number(7, "eps");
  c.weight_decay = args.number(8, "weightDecay");
  c.step = read_step(args, 9);
  c.mu = args.number(10, "mu");
  c.mu_next = args.number(11, "muNext");
  c.mu_product = args.number(12, "muProduct");
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::nadam_step(param.data, grad.data, exp_avg.data, exp_avg_sq.data, param.length, c);
  });
}

// adamaxStep(param, grad, expAvg, expInf, lr, beta1, beta2, eps, weightDecay, step)
napi_value adamax_step(napi_env env, napi_callback_info info) {
  Args args(env, info, "adamaxStep", 10);
  const Array<float> param = args.float32(0, "param");
  const Array<float> grad = like_param(args, 1, "grad", param.length);
  const Array<float> exp_avg = like_param(args, 2, "expAvg", param.length);
  const Array<float> exp_inf = like_param(args, 3, "expInf", param.length);
  AdamaxConfig c{};
  c.lr = args.number(4, "lr");
  c.beta1 = args.number(5, "beta1");
  c.beta2 = args.number(6, "beta2");
  c.eps = args.number(7, "eps");
  c.weight_decay = args.number(8, "weightDecay");
  c.step = read_step(args, 9);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::adamax_step(param.data, grad.data, exp_avg.data, exp_inf.data, param.length, c);
  });
}

}  // namespace

void register_optim(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "sgdStep", sgd_step);
  export_function(env, exports, "adagradStep", adagrad_step);
  export_function(env, exports, "rmspropStep", rmsprop_step);
  export_function(env, exports, "adadeltaStep", adadelta_step);
  export_function(env, exports, "adamStep", adam_step);
  export_function(env, exports, "nadamStep", nadam_step);
  export_function(env, exports, "adamaxStep", adamax_step);
}

}  // namespace kiln::bindings
