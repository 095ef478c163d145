#include <tapegrad/autograd/gradcheck.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>
#include <type_traits>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>

namespace tapegrad {

std::string GradcheckReport::summary() const {
    std::ostringstream os;
    const bool second = check == "gradgradcheck";
    os << check << (passed ? " passed" : " FAILED") << ": " << checked - failed << "/" << checked
       << " pass, max abs error " << max_abs_error << ", max rel error " << max_rel_error << "; worst at "
       << (worst_is_grad_output ? "grad_output " : "input ") << worst_input << "[" << worst_input_element << "] -> "
       << (second ? "gradient of input " : "output ") << worst_output << "[" << worst_output_element
       << "]: analytic " << worst_analytic << ", numeric " << worst_numeric;
    return os.str();
}

namespace {

template <class T>
void refuse_float(const char* who) {
    if constexpr (!std::is_same_v<T, double>)
        throw Error(std::string(who) +
                    ": needs double tensors; central differences in float32 measure rounding noise, not derivatives");
}

// The input elements to perturb: all, or a seeded sample of options.sample.
std::vector<std::size_t> chosen_elements(std::size_t size, const GradcheckOptions& options, std::size_t input) {
    std::vector<std::size_t> all(size);
    std::iota(all.begin(), all.end(), 0);
    if (options.sample() == 0 || options.sample() >= size) return all;
    std::mt19937_64 rng(*options.seed() * 1000003 + input);
    std::shuffle(all.begin(), all.end(), rng);
    all.resize(options.sample());
    std::sort(all.begin(), all.end());
    return all;
}

// Saves the inputs' gradients and restores them on exit: gradcheck must not
// disturb what the caller accumulated.
template <class T>
class GradStash {
public:
    explicit GradStash(const TensorList<T>& inputs) : inputs_(inputs) {
        for (const auto& x : inputs_) saved_.push_back(x.grad());
    }
    ~GradStash() {
        for (std::size_t i = 0; i < inputs_.size(); ++i) inputs_[i].impl()->grad = saved_[i].impl();
    }

private:
    TensorList<T> inputs_;
    TensorList<T> saved_;
};

// Puts a perturbed input element back however its evaluations end (f may throw).
template <class T>
struct Restore {
    T* element;
    T original;
    ~Restore() { *element = original; }
};

}  // namespace

template <class T>
GradcheckReport gradcheck(const DiffFunction<T>& f, const TensorList<T>& inputs, const GradcheckOptions& given) {
    refuse_float<T>("gradcheck");
    GradcheckOptions options = given;
    if (options.sample() > 0 && !options.seed()) options.seed(draw_seed());  // only a sample needs one
    std::vector<std::size_t> checked_inputs;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].requires_grad()) checked_inputs.push_back(i);
    if (checked_inputs.empty()) throw Error("gradcheck: no input requires a gradient");
    GradStash<T> stash(inputs);

    // Analytic Jacobian, one backward per output element:
    // analytic[o][r][i] is d output_o[r] / d input_i, as a full array.
    TensorList<T> outputs;
    {
        EnableGradGuard recording;
        outputs = f(inputs);
    }
    std::vector<Shape> shapes;
    for (const auto& out : outputs) shapes.push_back(out.shape());
    std::vector<std::vector<std::vector<Array<T>>>> analytic(outputs.size());
    for (std::size_t o = 0; o < outputs.size(); ++o) {
        const std::size_t n = outputs[o].size();
        analytic[o].resize(n);
        for (std::size_t r = 0; r < n; ++r) {
            for (const auto& x : inputs) x.impl()->grad.reset();
            if (outputs[o].requires_grad()) {
                Tensor<T> one_hot = Tensor<T>::zeros(outputs[o].shape());
                one_hot.data_mut().data()[r] = T(1);
                outputs[o].backward(one_hot, /*retain_graph=*/true);
            }
            for (std::size_t i : checked_inputs) {
                Tensor<T> g = inputs[i].grad();
                analytic[o][r].push_back(g.defined() ? g.data() : Array<T>(xt::zeros<T>(inputs[i].shape())));
            }
        }
    }
    outputs.clear();

    // Recording, as for the analytic pass (and as PyTorch's gradcheck in its
    // default mode): a function that calls grad() itself, a gradient
    // penalty, needs the tape. Each evaluation's graph goes with its outputs.
    // Their values are copied (as PyTorch clones them): an output may share
    // its values with an input (f returning x, or a view of it), which the
    // next perturbation changes. Outputs that change shape when an input
    // moves cannot be compared element by element.
    auto evaluate = [&]() {
        EnableGradGuard recording;
        const TensorList<T> outs = f(inputs);
        if (outs.size() != shapes.size())
            throw Error("gradcheck: f returned " + std::to_string(outs.size()) + " outputs at a perturbed input, " +
                        std::to_string(shapes.size()) + " at the inputs given");
        std::vector<Array<T>> values;
        for (std::size_t o = 0; o < outs.size(); ++o) {
            if (outs[o].shape() != shapes[o])
                throw Error("gradcheck: f's output " + std::to_string(o) + " has shape " + shape_str(outs[o].shape()) +
                            " at a perturbed input, " + shape_str(shapes[o]) + " at the inputs given");
            values.push_back(outs[o].data());
        }
        return values;
    };
    GradcheckReport report;
    double worst_excess = -std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < checked_inputs.size(); ++c) {
        const std::size_t i = checked_inputs[c];
        T* values = inputs[i].impl()->data.data();
        for (std::size_t e : chosen_elements(inputs[i].size(), options, i)) {
            std::vector<Array<T>> plus, minus;
            {
                const Restore<T> restore{&values[e], values[e]};
                values[e] = restore.original + T(options.eps());
                plus = evaluate();
                values[e] = restore.original - T(options.eps());
                minus = evaluate();
            }
            for (std::size_t o = 0; o < plus.size(); ++o) {
                for (std::size_t r = 0; r < plus[o].size(); ++r) {
                    const double numeric = (double(plus[o].data()[r]) - double(minus[o].data()[r])) / (2 * options.eps());
                    const double a = double(analytic[o][r][c].data()[e]);
                    const double err = std::abs(a - numeric);
                    const double bound = options.atol() + options.rtol() * std::abs(numeric);
                    ++report.checked;
                    const bool ok = err <= bound;  // false for NaN too
                    if (!ok) ++report.failed;
                    report.max_abs_error = std::max(report.max_abs_error, err);
                    report.max_rel_error =
                        std::max(report.max_rel_error, err / std::max(std::abs(numeric), options.atol()));
                    const double excess = std::isnan(err) ? std::numeric_limits<double>::infinity() : err - bound;
                    if (excess > worst_excess) {
                        worst_excess = excess;
                        report.worst_input = i;
                        report.worst_input_element = e;
                        report.worst_output = o;
                        report.worst_output_element = r;
                        report.worst_analytic = a;
                        report.worst_numeric = numeric;
                    }
                }
            }
        }
    }
    report.passed = report.failed == 0;
    return report;
}

template <class T>
GradcheckReport gradgradcheck(const DiffFunction<T>& f, const TensorList<T>& inputs, const GradcheckOptions& given) {
    refuse_float<T>("gradgradcheck");
    GradcheckOptions options = given;
    if (!options.seed()) options.seed(draw_seed());
    GradStash<T> stash(inputs);  // f may call backward(), here as in gradcheck
    TensorList<T> first;
    {
        EnableGradGuard recording;
        first = f(inputs);
    }
    // Seeded random output gradients, checked as inputs too (as PyTorch does).
    TensorList<T> all_inputs = inputs;
    for (std::size_t o = 0; o < first.size(); ++o)
        all_inputs.push_back(Tensor<T>::normal(first[o].shape(), T(0), T(1), *options.seed() + 17 * (o + 1), true));
    const std::size_t n_inputs = inputs.size();
    first.clear();

    DiffFunction<T> gradient = [&f, n_inputs](const TensorList<T>& xs) {
        TensorList<T> x(xs.begin(), xs.begin() + std::ptrdiff_t(n_inputs));
        TensorList<T> outs = f(x);
        Tensor<T> contracted;
        for (std::size_t o = 0; o < outs.size(); ++o) {
            if (!outs[o].requires_grad()) continue;
            Tensor<T> term = sum(mul(outs[o], xs[n_inputs + o]));
            contracted = contracted.defined() ? add(contracted, term) : term;
        }
        for (const auto& xi : x) xi.impl()->grad.reset();
        if (contracted.defined()) contracted.backward(/*retain_graph=*/false, /*create_graph=*/true);
        TensorList<T> grads;
        for (const auto& xi : x) {
            if (!xi.requires_grad()) continue;
            Tensor<T> g = xi.grad();
            grads.push_back(g.defined() ? g : Tensor<T>::zeros(xi.shape()));
            xi.impl()->grad.reset();
        }
        return grads;
    };
    // Read the report in the caller's terms: input indices >= n_inputs are
    // the v of an output, and output o is the gradient of the o-th input
    // that requires one.
    GradcheckReport report = gradcheck(gradient, all_inputs, options);
    report.check = "gradgradcheck";
    report.worst_is_grad_output = report.worst_input >= n_inputs;
    if (report.worst_is_grad_output) report.worst_input -= n_inputs;
    for (std::size_t i = 0, seen = 0; i < n_inputs; ++i)
        if (inputs[i].requires_grad() && seen++ == report.worst_output) {
            report.worst_output = i;
            break;
        }
    return report;
}

template GradcheckReport gradcheck(const DiffFunction<float>&, const TensorList<float>&, const GradcheckOptions&);
template GradcheckReport gradcheck(const DiffFunction<double>&, const TensorList<double>&, const GradcheckOptions&);
template GradcheckReport gradgradcheck(const DiffFunction<float>&, const TensorList<float>&, const GradcheckOptions&);
template GradcheckReport gradgradcheck(const DiffFunction<double>&, const TensorList<double>&, const GradcheckOptions&);

}  // namespace tapegrad
