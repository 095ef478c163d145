// Everything at once: #include "tapegrad.hpp". Each part also has its own
// header (autograd/ops.hpp, nn/linear.hpp, optim/sgd.hpp, ...).
#pragma once

#include "autograd/gradcheck.hpp"
#include "autograd/graphviz.hpp"
#include "autograd/ops.hpp"
#include "data/dataset.hpp"
#include "data/augment.hpp"
#include "data/idx.hpp"
#include "data/loader.hpp"
#include "nn/activation.hpp"
#include "nn/checkpoint.hpp"
#include "nn/init.hpp"
#include "nn/linear.hpp"
#include "nn/loss.hpp"
#include "nn/mlp.hpp"
#include "nn/module.hpp"
#include "nn/sequential.hpp"
#include "nn/serialize.hpp"
#include "optim/adam.hpp"
#include "optim/lr_scheduler.hpp"
#include "optim/sgd.hpp"
