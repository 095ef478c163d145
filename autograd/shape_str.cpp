// Apart from tensor.cpp so that code which only reports shapes in errors (the
// file readers, and the fuzz targets built from them alone) need not link the
// tape and the ops.
#include <sstream>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

std::string shape_str(const Shape& shape) {
    std::ostringstream os;
    os << '(';
    for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
    if (shape.size() == 1) os << ',';
    os << ')';
    return os.str();
}

}  // namespace tapegrad
