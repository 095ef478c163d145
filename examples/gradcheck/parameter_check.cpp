#include "parameter_check.hpp"

#include <cmath>
#include <cstdio>

namespace gradcheck_example {

using tapegrad::Tensor;

namespace {

// A share of entries near 0 would make a pass vacuous: the row says how much
// of the gradient is actually large enough for atol not to decide alone.
double share_above(const Tensor<double>& parameter, const std::function<Tensor<double>()>& loss, double atol) {
    parameter.impl()->grad.reset();
    loss().backward();
    const Tensor<double> grad = parameter.grad();
    std::size_t above = 0;
    for (double g : grad.data()) above += std::abs(g) > atol;
    parameter.impl()->grad.reset();
    return double(above) / double(grad.size());
}

// "(row, col)" for a matrix, "[i]" for a vector.
std::string element_name(const tapegrad::Shape& shape, std::size_t flat) {
    if (shape.size() == 2) return "(" + std::to_string(flat / shape[1]) + ", " + std::to_string(flat % shape[1]) + ")";
    return "[" + std::to_string(flat) + "]";
}

}  // namespace

ParameterCheck check_parameter(const std::string& name, const Tensor<double>& parameter,
                               const std::function<Tensor<double>()>& loss,
                               const tapegrad::GradcheckOptions& options) {
    ParameterCheck check;
    check.name = name;
    check.shape = parameter.shape();
    check.share_above_atol = share_above(parameter, loss, options.atol());
    // gradcheck perturbs the input's values in place; the loss reads the same
    // handle through the network, so it sees every perturbation.
    check.report = tapegrad::gradcheck<double>(
        [&loss](const tapegrad::TensorList<double>&) { return tapegrad::TensorList<double>{loss()}; },
        {parameter}, options);
    return check;
}

void print_table_header() {
    std::printf("  %-15s %15s %8s %12s %12s %9s   %s\n", "parameter", "checked", "pass", "max abs err", "max rel err",
                "|g|>atol", "nearest its tolerance: analytic vs numeric");
}

void print_table_row(const ParameterCheck& check) {
    const auto& r = check.report;
    std::size_t size = 1;
    for (std::size_t d : check.shape) size *= d;
    const std::string checked = std::to_string(r.checked) + " of " + std::to_string(size);
    const double pass = r.checked ? 100.0 * double(r.checked - r.failed) / double(r.checked) : 0.0;
    std::printf("  %-15s %15s %7.2f%% %12.2e %12.2e %8.1f%%   %s: %.6e vs %.6e\n", check.name.c_str(), checked.c_str(),
                pass, r.max_abs_error, r.max_rel_error, 100.0 * check.share_above_atol,
                element_name(check.shape, r.worst_input_element).c_str(), r.worst_analytic, r.worst_numeric);
}

}  // namespace gradcheck_example
