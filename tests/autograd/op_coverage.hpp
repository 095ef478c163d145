// Which entries of autograd/op_list.hpp passed their checks, and on which
// shapes: check_gradients (check.hpp) records a TAPEGRAD_OP's gradcheck and
// gradgradcheck, check_no_gradient a TAPEGRAD_NOGRAD_OP's values and absent
// gradient, and test_autograd's main (main.cpp) fails the run unless every op
// has enough passing checks of its kind.
#pragma once

#include <algorithm>
#include <map>
#include <ostream>
#include <string>

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad::testing {

// One enumerator per entry of the list, named by its key: a test names the op
// it checks as Op::sum_axis, and a key that is not in the list does not compile.
enum class Op {
#define TAPEGRAD_FAMILY(family) 1
#define TAPEGRAD_DEFAULT(value)
#define TAPEGRAD_OP(key, returns, name, parameters) key,
#include <tapegrad/autograd/op_list.hpp>
#undef TAPEGRAD_OP
};

inline constexpr const char* kOpKeys[] = {
#define TAPEGRAD_OP(key, returns, name, parameters) #key,
#include <tapegrad/autograd/op_list.hpp>
#undef TAPEGRAD_OP
};
inline constexpr std::size_t kOpCount = sizeof(kOpKeys) / sizeof(kOpKeys[0]);

// Per entry, whether it is differentiable (TAPEGRAD_OP) or not (TAPEGRAD_NOGRAD_OP).
inline constexpr bool kOpDifferentiable[] = {
#define TAPEGRAD_OP(key, returns, name, parameters) true,
#define TAPEGRAD_NOGRAD_OP(key, returns, name, parameters) false,
#include <tapegrad/autograd/op_list.hpp>
#undef TAPEGRAD_NOGRAD_OP
#undef TAPEGRAD_OP
#undef TAPEGRAD_DEFAULT
#undef TAPEGRAD_FAMILY
};
static_assert(sizeof(kOpDifferentiable) / sizeof(kOpDifferentiable[0]) == kOpCount);

inline const char* op_key(Op op) { return kOpKeys[std::size_t(op)]; }
inline bool op_differentiable(Op op) { return kOpDifferentiable[std::size_t(op)]; }

// What every op must have passed, first and second derivatives both, before
// test_autograd passes: several input shapes, at least one of them an edge
// case (a 0-d tensor or a dimension of size 1, where broadcasting and
// reductions take their special paths).
inline constexpr std::size_t kMinShapes = 3;

// An op's inputs' shapes, e.g. "(3, 4) (4,)", and whether any is an edge case.
struct ShapeCase {
    std::string shapes;
    bool edge = false;
};

template <class T>
ShapeCase shape_case(const TensorList<T>& inputs) {
    ShapeCase c;
    for (const auto& x : inputs) {
        c.shapes += (c.shapes.empty() ? "" : " ") + shape_str(x.shape());
        // shape() returns a copy: one copy for both ends of the search.
        const Shape shape = x.shape();
        c.edge = c.edge || shape.empty() || std::find(shape.begin(), shape.end(), 1) != shape.end();
    }
    return c;
}

// Per op: the shape cases on which both checks passed.
inline std::map<std::size_t, std::map<std::string, bool>>& op_coverage() {
    static std::map<std::size_t, std::map<std::string, bool>> passed;
    return passed;
}

inline void record_passed(Op op, const ShapeCase& c) { op_coverage()[std::size_t(op)][c.shapes] = c.edge; }

// Writes one line per op that falls short and returns how many do.
inline std::size_t report_missing_coverage(std::ostream& out) {
    std::size_t missing = 0;
    for (std::size_t i = 0; i < kOpCount; ++i) {
        const auto found = op_coverage().find(i);
        const std::size_t shapes = found == op_coverage().end() ? 0 : found->second.size();
        bool edge = false;
        if (found != op_coverage().end())
            for (const auto& [shapes_seen, is_edge] : found->second) edge = edge || is_edge;
        if (shapes >= kMinShapes && edge) continue;
        ++missing;
        out << "  " << kOpKeys[i] << ": "
            << (kOpDifferentiable[i] ? "gradcheck and gradgradcheck" : "values and no gradient (check_no_gradient)")
            << " passed on " << shapes << " input shape(s)"
            << (edge ? "" : ", none an edge case (0-d or a size-1 dimension)") << "; needs " << kMinShapes
            << " including an edge case\n";
    }
    return missing;
}

}  // namespace tapegrad::testing
