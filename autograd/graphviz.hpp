/// \file
/// Writes the graph behind a tensor in Graphviz DOT: one box per tensor with
/// the operation that made it and its shape, an edge from each input.
///
///     std::ofstream("graph.dot") << to_dot(loss);   then: dot -Tsvg graph.dot
#pragma once

#include <string>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// The DOT text of the graph behind `root` (a leaf alone if it has none).
/// Throws Error if `root` is undefined.
template <class T>
std::string to_dot(const Tensor<T>& root);

}  // namespace tapegrad
