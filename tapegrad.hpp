/// \file
/// Everything at once: `#include <tapegrad/tapegrad.hpp>`. Each part also has its own
/// header (autograd/ops.hpp, io/npz.hpp, nn/linear.hpp, optim/sgd.hpp,
/// train/trainer.hpp, ...).
#pragma once

#include <tapegrad/config.hpp>
#include <tapegrad/autograd/blas.hpp>
#include <tapegrad/autograd/conv_geometry.hpp>
#include <tapegrad/autograd/gradcheck.hpp>
#include <tapegrad/autograd/graphviz.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/batch_shard.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/io/byte_source.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/augment.hpp>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/data/loader.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/attention.hpp>
#include <tapegrad/nn/clip_grad.hpp>
#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/embedding.hpp>
#include <tapegrad/nn/flatten.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/loss.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/nn/pooling.hpp>
#include <tapegrad/nn/rnn.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/nn/serialize.hpp>
#include <tapegrad/nn/transformer.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/lr_scheduler.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/train/batch_gradients.hpp>
#include <tapegrad/train/checkpoint.hpp>
#include <tapegrad/train/communicator.hpp>
#include <tapegrad/train/early_stopping.hpp>
#include <tapegrad/train/evaluate.hpp>
#include <tapegrad/train/gradient_reducer.hpp>
#include <tapegrad/train/history.hpp>
#include <tapegrad/train/progress.hpp>
#include <tapegrad/train/svg_plot.hpp>
#include <tapegrad/train/thread_context.hpp>
#include <tapegrad/train/trainer.hpp>
#if TAPEGRAD_HAS_MPI
#include <tapegrad/dist/mpi.hpp>
#endif
