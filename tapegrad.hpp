// Everything at once: #include <tapegrad/tapegrad.hpp>. Each part also has its own
// header (autograd/ops.hpp, nn/linear.hpp, optim/sgd.hpp, ...).
#pragma once

#include <tapegrad/autograd/blas.hpp>
#include <tapegrad/autograd/gradcheck.hpp>
#include <tapegrad/autograd/graphviz.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/augment.hpp>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/data/loader.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/checkpoint.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/loss.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/nn/serialize.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/lr_scheduler.hpp>
#include <tapegrad/optim/sgd.hpp>
