// tapegrad's side of the benchmark (bench/run.sh drives it next to
// bench/torch_bench.py, which measures the same things in PyTorch). Each
// subcommand prints one JSON object per line; bench/report.py makes the table.
//
//   tapegrad_bench train DATA_DIR BATCH EPOCHS [CONFIG]   one warm-up epoch, then EPOCHS timed
//   tapegrad_bench cnn DATA_DIR BATCH EPOCHS [CONFIG]     the CNN of issue #12: WARMUP steps (env, default 50), then EPOCHS timed
//   tapegrad_bench steps mlp|cnn DATA_DIR BATCH STEPS   seconds per training step (issue #14's scaling model)
//   tapegrad_bench machine                       the BLAS kernel tapegrad uses and its thread count
//   tapegrad_bench gemm REPS                     sgemm GFLOP/s, batch-200 shapes and 2048^3
//   tapegrad_bench tape LENGTH REPS              per-op cost of the tape on tiny tensors
//   tapegrad_bench tiny REPS                     micrograd's case: ten scalar ops built and differentiated REPS times
//   tapegrad_bench chargpt WORDS BATCH STEPS [MODEL]  one training step of issue #20's character-level model
//                                                (examples/chargpt, MODEL gpt by default): WARMUP steps (env, default 50),
//                                                then STEPS timed one by one; the best and the median
//
// Training runs through train::Trainer (the timed part of an epoch is its
// batch loop; validation is one sample). CONFIG says how a step uses the
// cores (issue #13), and the JSON line's "config" says which ran:
//   blas     the whole batch on one thread, its products on OpenBLAS's
//            threads (TrainerOptions::shards(1))
//   shards   the batch split into BENCH_THREADS (default: all cores) row
//            ranges, one thread each, one BLAS thread per product
//            (TrainerOptions::shards(n))
// Without CONFIG: the Trainer's default.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <tapegrad/autograd/blas.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/backend/conv_onednn.hpp>
#include <tapegrad/autograd/backend/gemm.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/loader.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/flatten.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/nn/pooling.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/train/trainer.hpp>

#include "../examples/chargpt/model.hpp"
#include "../examples/chargpt/words.hpp"


// OpenBLAS's thread count (weak: another BLAS links too, and then the bench
// measures it with its own threading only).
extern "C" {
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
}

using namespace tapegrad;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The untimed steps before a measurement: WARMUP (env) or `fallback`.
long warmup_steps(long fallback) {
    const char* env = std::getenv("WARMUP");
    return env ? std::atol(env) : fallback;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string json_list(const std::vector<double>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
}

double peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// CPU seconds of the whole process so far (all threads, user and system):
// on a loaded machine a steadier figure than the wall clock.
double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double current_rss_mb() {
    std::ifstream statm("/proc/self/statm");
    double pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

// One JSON line per training run (bench/report.py reads it).
// `extra`: more fields, each starting with ", ".
void print_training(const char* kind, std::size_t batch_size, const std::vector<double>& times, double loss,
                    const std::vector<double>& rss, const Dataset& data, const std::string& extra = "") {
    std::printf(
        "{\"kind\": \"%s\", \"impl\": \"tapegrad\", \"batch\": %zu, \"median_s\": %.6f, \"epoch_s\": %s, "
        "\"loss\": %.4f, \"peak_rss_mb\": %.1f, \"rss_after_epoch_mb\": %s, \"dataset_mb\": %.1f%s}\n",
        kind, batch_size, median(times), json_list(times).c_str(), loss, peak_rss_mb(), json_list(rss).c_str(),
        double(data.inputs.size() * sizeof(float)) / (1024.0 * 1024.0), extra.c_str());
}

// How a training step uses the cores: CONFIG's shard count.
struct Config {
    std::string name;
    std::size_t shards;
    std::uint64_t min_shard_work;  // TrainerOptions::min_shard_work
};

// blas: the whole batch on the calling thread, products on OpenBLAS's
// threads; shards: every batch split across the cores (min_shard_work 0);
// default: TrainerOptions' defaults (up to a shard a core, by the work).
Config config_named(const std::string& name) {
    const train::TrainerOptions defaults;
    if (name.empty() || name == "default") return {"default", defaults.shards(), defaults.min_shard_work()};
    if (name == "blas") return {name, 1, 0};
    if (name == "shards") {
        const char* threads = std::getenv("BENCH_THREADS");
        const std::size_t cores = threads ? std::stoul(threads) : std::max(1u, std::thread::hardware_concurrency());
        return {name, cores, 0};
    }
    throw Error("unknown config '" + name + "' (blas, shards, default)");
}

// Trains `epochs` epochs of `data` with the Trainer and prints the JSON
// line: wall and CPU seconds of each epoch after the first `untimed`.
void run_trainer(const char* kind, nn::Module<float>& net, optim::Optimizer<float>& optimizer, const Dataset& data,
                 std::size_t batch_size, int epochs, int untimed, const Config& config, const std::string& extra = "") {
    const Dataset valid = subset(data, {0});  // validation is not what is measured
    std::vector<double> times, cpu, rss;
    double last_loss = 0, cpu_before = cpu_seconds();
    train::Trainer trainer(net, optimizer, data, valid,
                           train::TrainerOptions().epochs(std::size_t(epochs + untimed)).batch_size(batch_size).seed(1)
                               .divergence_factor(0).shards(config.shards).min_shard_work(config.min_shard_work));
    trainer.on_epoch_end([&](const train::EpochRecord& record) {
        const double now = cpu_seconds();
        if (record.epoch > untimed) {
            times.push_back(record.seconds);
            cpu.push_back(now - cpu_before);
        }
        cpu_before = now;
        last_loss = record.train_loss;
        rss.push_back(current_rss_mb());
    });
    trainer.run();
    const char* threads = std::getenv("BENCH_THREADS");
    print_training(kind, batch_size, times, last_loss, rss, data,
                   ", \"cpu_s\": " + json_list(cpu) + ", \"threads\": " + (threads ? threads : "null") +
                       ", \"config\": \"" + config.name + "\", \"shards\": " + std::to_string(config.shards) +
                       ", \"blas_threads\": " + std::to_string(config.shards > 1 ? 1 : blas_threads()) + extra);
}

// The notebook's network: 784-100-100-10, sigmoid, cross-entropy, SGD with
// momentum, float32, shuffled mini-batches; one untimed warm-up epoch.
int train_mlp(const std::string& dir, std::size_t batch_size, int epochs, const std::string& config) {
    const Dataset data = load_mnist_dir(dir, "train");
    auto net =
        nn::make_mlp<float>(nn::MLPOptions({784, 100, 100, 10}, "sigmoid").init(nn::Init::PyTorchDefault).seed(1));
    optim::SGD<float> sgd(net->parameters(), optim::SGDOptions(0.1).momentum(0.9));
    run_trainer("train", *net, sgd, data, batch_size, epochs, 1, config_named(config));
    return 0;
}

// The CNN of issue #12, as bench/torch_bench.py's cnn: conv 5x5 1->16 pad 2,
// ReLU, max-pool 2, conv 5x5 16->32 pad 2, ReLU, max-pool 2, flatten, Linear
// 1568-100, ReLU, dropout 0.25, Linear 100-10, on (n, 1, 28, 28) images.
std::shared_ptr<nn::Sequential<float>> make_cnn(std::uint64_t seed) {
    using std::make_shared;
    return make_shared<nn::Sequential<float>>(std::vector<nn::Sequential<float>::Ptr>{
        make_shared<nn::Conv2d<float>>(nn::Conv2dOptions(1, 16, 5).padding(2).seed(derive_seed(seed, 0))),
        make_shared<nn::ReLU<float>>(),
        make_shared<nn::MaxPool2d<float>>(nn::MaxPool2dOptions(2)),
        make_shared<nn::Conv2d<float>>(nn::Conv2dOptions(16, 32, 5).padding(2).seed(derive_seed(seed, 1))),
        make_shared<nn::ReLU<float>>(),
        make_shared<nn::MaxPool2d<float>>(nn::MaxPool2dOptions(2)),
        make_shared<nn::Flatten<float>>(),
        make_shared<nn::Linear<float>>(nn::LinearOptions(1568, 100).seed(derive_seed(seed, 2))),
        make_shared<nn::ReLU<float>>(),
        make_shared<nn::Dropout<float>>(0.25),
        make_shared<nn::Linear<float>>(nn::LinearOptions(100, 10).seed(derive_seed(seed, 3))),
    });
}

// The CNN above with Adam lr 1e-3, cross-entropy, float32 images in [0, 1],
// shuffled batches.
int cnn(const std::string& dir, std::size_t batch_size, int epochs, const std::string& config_name) {
    const Dataset data = with_sample_shape(load_mnist_dir(dir, "train"), {1, 28, 28});
    const std::uint64_t seed = 1;
    const auto model = make_cnn(seed);
    nn::Sequential<float>& net = *model;
    optim::Adam<float> adam(net.parameters(), optim::AdamOptions(1e-3));
    const Config config = config_named(config_name);

    // Warm-up: WARMUP steps, as one epoch of that many batches.
    const std::size_t warmup = std::min(data.size() / batch_size, std::size_t(warmup_steps(50)));
    if (warmup > 0) {
        std::vector<std::size_t> first(warmup * batch_size);
        std::iota(first.begin(), first.end(), std::size_t(0));
        const Dataset warm = subset(data, first);
        train::Trainer(net, adam, warm, subset(data, {0}),
                       train::TrainerOptions().epochs(1).batch_size(batch_size).divergence_factor(0).shards(config.shards)
                           .min_shard_work(config.min_shard_work))
            .run();
    }
    const std::string conv = detail::onednn_backend().empty() ? "im2col" : detail::onednn_backend();
    run_trainer("cnn", net, adam, data, batch_size, epochs, 0, config, ", \"conv\": \"" + conv + "\"");
    return 0;
}

// Seconds per training step at one batch size, for issue #14's scaling model
// (bench/scaling_model.py): the MLP of `train` (SGD) or the CNN of `cnn`
// (Adam), WARMUP steps (env, default 20), then STEPS timed in 10 blocks; the
// median block's wall and CPU seconds per step (CPU: this process's threads,
// steadier than the wall clock on a busy machine).
int steps(const std::string& model, const std::string& dir, std::size_t batch_size, long count) {
    if (model != "mlp" && model != "cnn") throw Error("steps: the model is mlp or cnn, got '" + model + "'");
    if (count < 10) throw Error("steps: at least 10 steps, got " + std::to_string(count));
    const bool is_cnn = model == "cnn";
    Dataset data = load_mnist_dir(dir, "train");
    if (is_cnn) data = with_sample_shape(std::move(data), {1, 28, 28});
    std::shared_ptr<nn::Module<float>> net;
    std::unique_ptr<optim::Optimizer<float>> opt;
    if (is_cnn) {
        net = make_cnn(1);
        opt = std::make_unique<optim::Adam<float>>(net->parameters(), optim::AdamOptions(1e-3));
    } else {
        net = nn::make_mlp<float>(
            nn::MLPOptions({784, 100, 100, 10}, "sigmoid").init(nn::Init::PyTorchDefault).seed(1));
        opt = std::make_unique<optim::SGD<float>>(net->parameters(), optim::SGDOptions(0.1).momentum(0.9));
    }
    BatchLoader loader(data, LoaderOptions(batch_size).seed(1));
    Batch batch;
    std::uint64_t epoch = 0;
    loader.start_epoch(epoch);
    auto step = [&] {
        if (!loader.next(batch)) {
            loader.start_epoch(++epoch);
            loader.next(batch);
        }
        opt->zero_grad();
        Tensor<float> loss = cross_entropy(net->forward(batch.inputs), batch.labels);
        loss.backward();
        opt->step();
        return double(loss.item());
    };
    const long warmup = warmup_steps(20);
    for (long s = 0; s < warmup; ++s) step();
    std::vector<double> wall, cpu;
    const long per_block = count / 10;
    double loss = 0;
    for (int b = 0; b < 10; ++b) {
        const double cpu0 = cpu_seconds();
        const auto t0 = Clock::now();
        for (long s = 0; s < per_block; ++s) loss = step();
        wall.push_back(seconds_since(t0) / double(per_block));
        cpu.push_back((cpu_seconds() - cpu0) / double(per_block));
    }
    std::size_t parameters = 0;
    for (const auto& p : net->parameters()) parameters += p.size();
    std::printf("{\"kind\": \"steps\", \"impl\": \"tapegrad\", \"model\": \"%s\", \"batch\": %zu, "
                "\"steps\": %ld, \"wall_s_per_step\": %.7f, \"cpu_s_per_step\": %.7f, \"blas_threads\": %d, "
                "\"parameters\": %zu, \"loss\": %.4f}\n",
                model.c_str(), batch_size, per_block * 10, median(wall), median(cpu), blas_threads(), parameters,
                loss);
    return 0;
}

// C = op(A) op(B) through tapegrad's own BLAS entry point (matmul's).
double sgemm_gflops(std::size_t m, std::size_t n, std::size_t k, bool ta, bool tb, int reps) {
    std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
    auto once = [&] {
        detail::gemm<float>(ta, tb, m, n, k, 1.0f, a.data(), ta ? m : k, b.data(), tb ? k : n, 0.0f, c.data(), n);
    };
    once();
    // Repeat until ~50 ms have passed, `reps` times, and keep the median rate.
    std::vector<double> rates;
    for (int r = 0; r < reps; ++r) {
        std::size_t calls = 0;
        const auto t0 = Clock::now();
        double t = 0;
        do {
            once();
            ++calls;
            t = seconds_since(t0);
        } while (t < 0.05);
        rates.push_back(2.0 * double(m * n * k) * double(calls) / t / 1e9);
    }
    return median(rates);
}

// Which OpenBLAS kernel runs tapegrad's products (and whether tapegrad chose
// it), on how many threads.
int machine() {
    std::printf("{\"kind\": \"blas\", \"impl\": \"tapegrad\", \"kernel\": \"%s\", \"threads\": %d}\n",
                detail::blas_kernel().c_str(), blas_threads());
    return 0;
}

int gemm(int reps) {
    struct Shape3 {
        const char* what;
        std::size_t m, n, k;
        bool ta, tb;
    };
    // One batch-200 step of 784-100-100-10 (Linear: y = x W^T + b).
    const std::vector<Shape3> shapes = {
        {"fwd x@W1^T", 200, 100, 784, false, true}, {"fwd h1@W2^T", 200, 100, 100, false, true},
        {"fwd h2@W3^T", 200, 10, 100, false, true}, {"dW3 g^T@h2", 10, 100, 200, true, false},
        {"dX3 g@W3", 200, 100, 10, false, false},   {"dW2 g^T@h1", 100, 100, 200, true, false},
        {"dX2 g@W2", 200, 100, 100, false, false},  {"dW1 g^T@x", 100, 784, 200, true, false},
        {"square 2048", 2048, 2048, 2048, false, false},
    };
    // The rate at the configured thread count, and on one thread: do threads
    // pay for these small products?
    const int threads = openblas_get_num_threads ? openblas_get_num_threads() : 0;
    for (const auto& s : shapes) {
        const double rate = sgemm_gflops(s.m, s.n, s.k, s.ta, s.tb, reps);
        double rate1 = rate;
        if (openblas_set_num_threads && threads > 1) {
            openblas_set_num_threads(1);
            rate1 = sgemm_gflops(s.m, s.n, s.k, s.ta, s.tb, reps);
            openblas_set_num_threads(threads);
        }
        std::printf("{\"kind\": \"gemm\", \"impl\": \"tapegrad\", \"what\": \"%s\", \"m\": %zu, \"n\": %zu, \"k\": %zu, "
                    "\"threads\": %d, \"gflops\": %.2f, \"gflops_1thread\": %.2f}\n",
                    s.what, s.m, s.n, s.k, threads, rate, rate1);
    }
    return 0;
}

// A chain of LENGTH elementwise ops (mul, add, tanh in turn) on one tiny
// tensor with a parameter w, then backward through all of it.
int tape(int length, int reps) {
    for (std::size_t side : {std::size_t(1), std::size_t(16)}) {
        std::vector<double> fwd, bwd;
        for (int r = 0; r < reps; ++r) {
            auto w = Tensor<float>::full({side, side}, 0.5f, true);
            auto x = Tensor<float>::full({side, side}, 0.1f);
            const auto t0 = Clock::now();
            Tensor<float> y = x;
            for (int i = 0; i < length; i += 3) y = tanh(add(mul(y, w), w));
            Tensor<float> loss = sum(y);
            const double tf = seconds_since(t0);
            const auto t1 = Clock::now();
            loss.backward();
            const double tb = seconds_since(t1);
            const int ops = (length + 2) / 3 * 3 + 1;
            fwd.push_back(tf / ops * 1e9);
            bwd.push_back(tb / ops * 1e9);
        }
        std::printf("{\"kind\": \"tape\", \"impl\": \"tapegrad\", \"side\": %zu, \"fwd_ns_per_op\": %.1f, "
                    "\"bwd_ns_per_op\": %.1f}\n",
                    side, median(fwd), median(bwd));
    }
    return 0;
}

// micrograd's case, as torch_bench.py's: h = tanh(x1 w1 + x2 w2 + b1),
// o = tanh(h w3 + b2), loss = (o - y)^2 (ten recorded ops) on 0-d double
// tensors (micrograd's Python floats), built and differentiated `reps`
// times; the gradients accumulate in the five parameters.
int tiny(int reps) {
    const auto scalar = [](double v, bool requires_grad = false) { return Tensor<double>::scalar(v, requires_grad); };
    const auto x1 = scalar(2.0), x2 = scalar(0.0), y = scalar(0.5);
    const auto w1 = scalar(-3.0, true), w2 = scalar(1.0, true), w3 = scalar(0.7, true);
    const auto b1 = scalar(6.8813735870195432, true), b2 = scalar(0.1, true);
    const auto t0 = Clock::now();
    for (int r = 0; r < reps; ++r) {
        const Tensor<double> h = tanh(add(add(mul(x1, w1), mul(x2, w2)), b1));
        const Tensor<double> o = tanh(add(mul(h, w3), b2));
        const Tensor<double> d = sub(o, y);
        mul(d, d).backward();
    }
    const double s = seconds_since(t0);
    std::printf("{\"kind\": \"tiny\", \"impl\": \"tapegrad\", \"ops\": 10, \"reps\": %d, \"us_per_step\": %.4f, "
                "\"w1_grad\": %.17g}\n",
                reps, s / reps * 1e6, w1.grad().item());
    return 0;
}

// One training step of issue #20's character-level model (examples/chargpt,
// MODEL gpt by default), as torch_bench.py chargpt times PyTorch's: a batch
// of training words drawn with replacement, their rows gathered, then
// chargpt::train_step (forward, cross-entropy ignoring the padding, backward,
// AdamW), timed one step at a time after WARMUP (env, default 50) untimed
// steps; the best step and the median. The products run on the BLAS's
// threads (BENCH_THREADS in run.sh, as PyTorch's intra-op threads).
int chargpt_steps(const std::string& words_path, std::size_t batch_size, long steps, const std::string& kind) {
    if (steps < 1) throw Error("chargpt: at least 1 timed step, got " + std::to_string(steps));
    const std::uint64_t seed = 1;
    const chargpt::Split split = chargpt::split_words(chargpt::read_words(words_path));
    const chargpt::Rows rows = chargpt::make_rows(split.train);
    const auto model = chargpt::make_model(kind, seed);
    model->train();
    optim::AdamW<float> optimizer = chargpt::make_optimizer(*model);
    const chargpt::BatchSampler sampler(split.train.size(), batch_size, derive_seed(seed, 1));
    std::uint64_t step = 0;
    const auto one_step = [&] {
        return chargpt::train_step(*model, optimizer, chargpt::gather_rows(rows, sampler.indices(step++)));
    };
    for (long s = warmup_steps(50); s > 0; --s) one_step();
    std::vector<double> times;
    double loss = 0;
    for (long s = 0; s < steps; ++s) {
        const auto t0 = Clock::now();
        loss = one_step();
        times.push_back(seconds_since(t0));
    }
    const char* threads = std::getenv("BENCH_THREADS");
    std::printf("{\"kind\": \"chargpt\", \"impl\": \"tapegrad\", \"model\": \"%s\", \"batch\": %zu, "
                "\"threads\": %d, \"blas_threads\": %d, \"steps\": %ld, \"best_ms\": %.4f, \"median_ms\": %.4f, "
                "\"loss\": %.6f}\n",
                kind.c_str(), batch_size, threads ? std::atoi(threads) : blas_threads(), blas_threads(), steps,
                *std::min_element(times.begin(), times.end()) * 1e3, median(times) * 1e3, loss);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string cmd = argc > 1 ? argv[1] : "";
    try {
        const std::string config = argc == 6 ? argv[5] : "";
        if (cmd == "train" && (argc == 5 || argc == 6)) return train_mlp(argv[2], std::stoul(argv[3]), std::stoi(argv[4]), config);
        if (cmd == "cnn" && (argc == 5 || argc == 6)) return cnn(argv[2], std::stoul(argv[3]), std::stoi(argv[4]), config);
        if (cmd == "steps" && argc == 6) return steps(argv[2], argv[3], std::stoul(argv[4]), std::stol(argv[5]));
        if (cmd == "machine" && argc == 2) return machine();
        if (cmd == "gemm" && argc == 3) return gemm(std::stoi(argv[2]));
        if (cmd == "tape" && argc == 4) return tape(std::stoi(argv[2]), std::stoi(argv[3]));
        if (cmd == "tiny" && argc == 3) return tiny(std::stoi(argv[2]));
        if (cmd == "chargpt" && (argc == 5 || argc == 6))
            return chargpt_steps(argv[2], std::stoul(argv[3]), std::stol(argv[4]), argc == 6 ? argv[5] : "gpt");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tapegrad_bench: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr,
                 "usage: tapegrad_bench train|cnn DATA_DIR BATCH EPOCHS [blas|shards|default] | steps mlp|cnn DATA_DIR BATCH STEPS | "
                 "machine | gemm REPS | tape LENGTH REPS | tiny REPS | chargpt WORDS BATCH STEPS [gpt|lstm|gru]\n");
    return 2;
}
