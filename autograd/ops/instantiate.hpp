// The explicit instantiations, for float and double, of one family's section of
// autograd/op_list.hpp. The last lines of autograd/ops/<family>.cpp, after the
// definitions, are
//
//   #define TAPEGRAD_INSTANTIATE_<family> 1
//   #include <tapegrad/autograd/ops/instantiate.hpp>
//
// Inside `#if TAPEGRAD_FAMILY(f)` the name TAPEGRAD_INSTANTIATE_f is 1 only in
// that family's own file; elsewhere it is undefined, which #if reads as 0.
// Included once per file, at its end; no include guard by design.

#define TAPEGRAD_FAMILY(family) TAPEGRAD_INSTANTIATE_##family
#define TAPEGRAD_DEFAULT(value)  // default arguments belong to the declaration only
#define TAPEGRAD_OP(key, returns, name, parameters) template returns name parameters;

namespace tapegrad {
// `T` in the list's parameters, once per element type.
#define T float
#include <tapegrad/autograd/op_list.hpp>
#undef T
#define T double
#include <tapegrad/autograd/op_list.hpp>
#undef T
}  // namespace tapegrad

#undef TAPEGRAD_OP
#undef TAPEGRAD_DEFAULT
#undef TAPEGRAD_FAMILY
