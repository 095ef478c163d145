// dist_train: the float Trainer on synthetic data, distributed over the
// processes of `mpirun` (one process without it), for the tests that need a
// job of their own (resume.py, failure.py):
//   --epochs E            train up to epoch E (default 2)
//   --checkpoint FILE     write a checkpoint after every epoch (rank 0 alone)
//   --resume FILE         continue from a checkpoint
//   --reference           then also train E epochs in this process alone, from
//                         the start, and exit 1 unless the weights agree
//   --throw-on-rank R     throw from rank R's epoch-2 callback, out of main
// Every process writes "rank R pid P" on stderr when it starts; rank 0 one
// line per epoch on stdout.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include <tapegrad/dist/mpi.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/train/trainer.hpp>
#include "common.hpp"

using namespace tapegrad;

namespace {
struct Args {
    std::size_t epochs = 2;
    std::string checkpoint, resume;
    bool reference = false;
    long throw_on_rank = -1;
};

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        const bool has_value = i + 1 < argc;
        if (flag == "--epochs" && has_value) a.epochs = std::stoul(argv[++i]);
        else if (flag == "--checkpoint" && has_value) a.checkpoint = argv[++i];
        else if (flag == "--resume" && has_value) a.resume = argv[++i];
        else if (flag == "--reference") a.reference = true;
        else if (flag == "--throw-on-rank" && has_value) a.throw_on_rank = std::stol(argv[++i]);
        else throw Error("dist_train: bad argument '" + flag + "'");
    }
    return a;
}

std::vector<float> train_blobs(const Args& a, dist::Mpi* mpi) {
    const Dataset train_set = testing::blobs(1001, 1, 1.0f), valid_set = testing::blobs(203, 2, 1.0f);
    auto model = nn::make_mlp<float>(nn::MLPOptions({4, 32, 2}, "tanh").seed(3));
    optim::SGD<float> sgd(model->parameters(), optim::SGDOptions(0.05).momentum(0.9));
    train::Trainer trainer(*model, sgd, train_set, valid_set,
                           train::TrainerOptions()
                               .epochs(a.epochs)
                               .batch_size(50)
                               .seed(9)
                               .checkpoint(mpi ? a.checkpoint : "")
                               .fingerprint("dist_train")
                               .verbose(mpi != nullptr));
    if (mpi) {
        trainer.distribute(*mpi);
        if (!a.resume.empty()) trainer.resume(a.resume);
        trainer.on_epoch_end([&](const train::EpochRecord& r) {
            if (r.epoch == 2 && long(mpi->rank()) == a.throw_on_rank) throw Error("planned failure");
        });
    }
    trainer.run();
    return testing::flat_state(*model);
}
}  // namespace

int main(int argc, char** argv) {
    dist::Mpi mpi(argc, argv);
    std::fprintf(stderr, "rank %zu pid %ld\n", mpi.rank(), long(::getpid()));
    const Args args = parse(argc, argv);
    const std::vector<float> weights = train_blobs(args, &mpi);  // an exception here ends the job (std::terminate)
    if (!args.reference) return mpi.finish(0);
    const std::vector<float> alone = train_blobs(args, nullptr);
    // As test_dist's float32 case: float32 sums in another order, a few ulps.
    const double distance = testing::relative_distance(weights, alone);
    std::printf("rank %zu: %zu processes vs one: relative distance %.3g\n", mpi.rank(), mpi.size(), distance);
    return mpi.finish(distance <= 1e-6 ? 0 : 1);
}
