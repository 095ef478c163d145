// chargpt: a character-level language model of English words (issue #20,
// item 5). makemore's transformer (or an LSTM or GRU) learns to spell the
// words of Debian's word list, one letter after another; the test loss, in
// nats per character on 1,000 held-out words, is printed last.
// examples/chargpt/torch_reference.py is the same run in PyTorch.
//
//   chargpt                      # gpt, 5,000 steps of 32 words
//   chargpt --model lstm --steps 2000 --save lstm.npz --sample 10
//   chargpt --load lstm.npz --model lstm
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/nn/serialize.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/train/history.hpp>
#include <tapegrad/train/progress.hpp>
#include <tapegrad/train/svg_plot.hpp>

#include "model.hpp"
#include "options.hpp"
#include "words.hpp"

using namespace tapegrad;

namespace {

constexpr int exit_failure = 1, exit_bad_input = 2, exit_training_failed = 3;
// Steps between two measurements of the test loss: a line on stdout, a row
// of the metrics (its "epoch" column counts these rounds), a point of the plot.
constexpr std::size_t steps_per_round = 500;

// Nats per character on the test rows, all at once, in evaluation mode.
double test_loss(chargpt::LanguageModel& model, const chargpt::Rows& test) {
    model.eval();
    NoGradGuard no_grad;
    const double loss = chargpt::loss_of(model, test).item();
    model.train();
    return loss;
}

// `count` new words: each starts from the start token and draws the next
// token from the model's softmax until the end token or the block is full.
// Token draws use derive_seed(seed, k), k counting every draw.
std::vector<std::string> sample_words(chargpt::LanguageModel& model, std::size_t count, std::uint64_t seed) {
    model.eval();
    NoGradGuard no_grad;
    std::vector<std::vector<std::int64_t>> words(count, std::vector<std::int64_t>{chargpt::end_token});
    std::vector<bool> done(count, false);
    std::uint64_t draws = 0;
    for (std::size_t t = 1; t < chargpt::block_size; ++t) {
        Indices x = xt::zeros<std::int64_t>({count, t});
        for (std::size_t i = 0; i < count; ++i)
            for (std::size_t j = 0; j < t; ++j) x(i, j) = words[i][j];
        const Tensor<float> probs = softmax(model.logits(x), -1);
        for (std::size_t i = 0; i < count; ++i) {
            if (done[i]) {  // a finished word is padded with end tokens, as a row's input is
                words[i].push_back(chargpt::end_token);
                continue;
            }
            const double u = double(derive_seed(seed, draws++) >> 11) * 0x1.0p-53;  // [0, 1)
            double cumulative = 0;
            std::int64_t token = std::int64_t(chargpt::vocab_size) - 1;
            for (std::size_t c = 0; c < chargpt::vocab_size; ++c) {
                cumulative += probs.at({i, t - 1, c});
                if (u < cumulative) {
                    token = std::int64_t(c);
                    break;
                }
            }
            words[i].push_back(token);
            done[i] = token == chargpt::end_token;
        }
    }
    model.train();
    std::vector<std::string> out;
    for (auto& w : words) out.push_back(chargpt::decode({w.begin() + 1, w.end()}));
    return out;
}

int run(const chargpt::Options& o) {
    chargpt::Split split;
    chargpt::Rows train_rows, test_rows;
    std::shared_ptr<chargpt::LanguageModel> model;
    try {
        split = chargpt::split_words(chargpt::read_words(o.words));
        train_rows = chargpt::make_rows(split.train);
        test_rows = chargpt::make_rows(split.test);
        model = chargpt::make_model(o.model, o.seed);
        if (!o.load.empty()) nn::load(*model, o.load);
    } catch (const Error& e) {
        std::cerr << "chargpt: " << e.what() << "\n";
        return exit_bad_input;
    }
    std::cout << "chargpt: " << o.model << ", " << model->parameter_count() << " parameters; " << split.train.size()
              << " training words, " << split.test.size() << " test words\n";

    train::History history;
    if (o.load.empty()) {
        optim::AdamW<float> optimizer = chargpt::make_optimizer(*model);
        const chargpt::BatchSampler sampler(split.train.size(), o.batch_size, derive_seed(o.seed, 1));
        const std::size_t rounds = (o.steps + steps_per_round - 1) / steps_per_round;
        for (std::size_t round = 1, step = 0; round <= rounds; ++round) {
            const std::size_t round_steps = std::min(steps_per_round, o.steps - step);
            train::EpochProgress progress(round, rounds, round_steps);
            const auto start = std::chrono::steady_clock::now();
            double loss_sum = 0;
            for (std::size_t k = 1; k <= round_steps; ++k, ++step) {
                const double value =
                    chargpt::train_step(*model, optimizer, chargpt::gather_rows(train_rows, sampler.indices(step)));
                if (!std::isfinite(value)) {  // the weights are spoilt: stop before saving anything
                    std::cerr << "chargpt: the training loss became " << value << " at step " << step + 1 << "\n";
                    return exit_training_failed;
                }
                loss_sum += value;
                progress.batch_done(k, loss_sum / double(k));
            }
            progress.finish();
            train::EpochRecord record;
            record.epoch = double(round);
            record.train_loss = loss_sum / double(round_steps);
            record.valid_loss = test_loss(*model, test_rows);
            record.train_accuracy = record.valid_accuracy = std::nan("");  // not a classifier of samples
            record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            history.push_back(record);
            std::printf("step %zu/%zu  train loss %.4f  test loss %.4f  (%.1f s)\n", step, o.steps, record.train_loss,
                        record.valid_loss, record.seconds);
            std::fflush(stdout);
        }
        if (!o.save.empty()) nn::save(*model, o.save);
        if (!o.metrics.empty()) io::write_file_atomically(o.metrics, train::to_csv(history));
        if (!o.plot.empty()) io::write_file_atomically(o.plot, train::plot_svg(history, 0));
    }
    if (o.sample > 0) {
        std::cout << "samples:";
        for (const auto& word : sample_words(*model, o.sample, derive_seed(o.seed, 2))) std::cout << " " << word;
        std::cout << "\n";
    }
    std::printf("test loss %.6f nats per character\n", test_loss(*model, test_rows));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const chargpt::ParsedCommandLine parsed = chargpt::parse_command_line(argc, argv);
        if (parsed.exit_code) return *parsed.exit_code;
        return run(parsed.options);
    } catch (const std::exception& e) {
        std::cerr << "chargpt: " << e.what() << "\n";
        return exit_failure;
    }
}
