#include <tapegrad/train/evaluate.hpp>

#include <limits>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/data/loader.hpp>

namespace tapegrad::train {

namespace {
// Pre-order, so that restoring a parent (whose train() sets its children too)
// comes before restoring its children's own flags.
void collect_modes(nn::Module<float>& module, std::vector<std::pair<nn::Module<float>*, bool>>& modes) {
    modes.emplace_back(&module, module.is_training());
    for (const auto& child : module.children()) collect_modes(*child.second, modes);
}
}  // namespace

TrainingModeGuard::TrainingModeGuard(nn::Module<float>& model) { collect_modes(model, modes_); }

TrainingModeGuard::~TrainingModeGuard() {
    for (const auto& [module, training] : modes_) module->train(training);
}

std::size_t count_correct(const xt::xarray<float>& logits, const Labels& labels) {
    if (logits.dimension() != 2 || logits.shape()[0] != labels.size())
        throw Error("count_correct: logits of shape " + shape_str(Shape(logits.shape().begin(), logits.shape().end())) +
                    " need to be 2-D with one row per label, but there are " + std::to_string(labels.size()) +
                    " labels");
    const std::size_t rows = logits.shape()[0], classes = logits.shape()[1];
    const float* row = logits.data();
    std::size_t correct = 0;
    for (std::size_t r = 0; r < rows; ++r, row += classes) {
        std::size_t best = 0;
        for (std::size_t c = 1; c < classes; ++c)
            if (row[c] > row[best]) best = c;
        correct += static_cast<std::int64_t>(best) == labels[r];
    }
    return correct;
}

namespace {
// The sums of the loss (the cross-entropy, or `loss` for a data set with
// targets) and of the correct answers over this process's shard of `data`
// (all of it without a communicator).
std::pair<double, double> evaluate_sums(nn::Module<float>& model, const Dataset& data, const TargetLoss* loss,
                                        const Communicator* communicator) {
    // A mean over no samples is 0/0: refused rather than reported as NaN.
    if (data.size() == 0) throw Error("evaluate: the data set is empty");
    if (data.has_targets() && !(loss && *loss))
        throw Error("evaluate: the data set has targets of shape " +
                    shape_str(Shape(data.targets.shape().begin(), data.targets.shape().end())) +
                    ", not class labels: measure it with a TargetLoss");
    if (!data.has_targets() && loss)
        throw Error("evaluate: a TargetLoss measures a data set with targets; this one has class labels "
                    "(measured by cross-entropy and accuracy)");
    TrainingModeGuard modes(model);
    model.eval();
    NoGradGuard no_grad;
    // Chunks bound the memory of the hidden activations on a large set.
    LoaderOptions options = LoaderOptions(2000).shuffle(false);
    if (communicator) options.shard(communicator->rank(), communicator->size());
    BatchLoader chunks(data, options);
    Batch batch;
    double loss_sum = 0;
    std::size_t correct = 0;
    while (chunks.next(batch)) {
        if (batch.rows.empty()) continue;  // this process's share of a small chunk
        const Tensor<float> outputs = model(batch.inputs);
        if (loss) {
            loss_sum += double((*loss)(outputs, batch.targets).item()) * double(batch.rows.size());
        } else {
            loss_sum += cross_entropy(outputs, batch.labels, Reduction::Sum).item();
            correct += count_correct(outputs.data(), batch.labels);
        }
    }
    return {loss_sum, static_cast<double>(correct)};
}

// The score over this process's shard, summed over the processes.
Score evaluate_over(nn::Module<float>& model, const Dataset& data, const TargetLoss* loss, Communicator* communicator) {
    const auto [loss_sum, correct] = evaluate_sums(model, data, loss, communicator);
    double sums[] = {loss_sum, correct};
    if (communicator) communicator->allreduce_sum(sums, 2);
    const double n = static_cast<double>(data.size());
    return {sums[0] / n, data.has_targets() ? std::numeric_limits<double>::quiet_NaN() : sums[1] / n};
}
}  // namespace

Score evaluate(nn::Module<float>& model, const Dataset& data) { return evaluate_over(model, data, nullptr, nullptr); }

Score evaluate(nn::Module<float>& model, const Dataset& data, const TargetLoss& loss) {
    return evaluate_over(model, data, &loss, nullptr);
}

Score evaluate(nn::Module<float>& model, const Dataset& data, Communicator& communicator) {
    return evaluate_over(model, data, nullptr, &communicator);
}

Score evaluate(nn::Module<float>& model, const Dataset& data, const TargetLoss& loss, Communicator& communicator) {
    return evaluate_over(model, data, &loss, &communicator);
}

}  // namespace tapegrad::train
