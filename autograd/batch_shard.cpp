#include <tapegrad/autograd/batch_shard.hpp>

namespace tapegrad {

namespace {
thread_local BatchShard* current = nullptr;
}

BatchShardGuard::BatchShardGuard(BatchShard& shard) : previous_(current) { current = &shard; }
BatchShardGuard::~BatchShardGuard() { current = previous_; }
BatchShard* batch_shard() { return current; }

}  // namespace tapegrad
