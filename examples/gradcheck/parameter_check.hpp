// One row of the report: gradcheck on one parameter tensor of the network.
#pragma once

#include <functional>
#include <string>

#include <tapegrad/autograd/gradcheck.hpp>

namespace gradcheck_example {

struct ParameterCheck {
    std::string name;                // e.g. "layer 1 weight"
    tapegrad::Shape shape;
    tapegrad::GradcheckReport report;
    double share_above_atol = 0;     // of all its gradient entries: how many have |g| > atol
};

// Checks d loss / d parameter against central differences on the elements
// `options` selects. `loss` must read `parameter` (the very handle, e.g. a
// module's weight): gradcheck perturbs its values in place.
ParameterCheck check_parameter(const std::string& name, const tapegrad::Tensor<double>& parameter,
                               const std::function<tapegrad::Tensor<double>()>& loss,
                               const tapegrad::GradcheckOptions& options);

void print_table_header();
void print_table_row(const ParameterCheck& check);

}  // namespace gradcheck_example
