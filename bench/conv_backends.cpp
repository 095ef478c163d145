// oneDNN against im2col + sgemm for the two convolutions of the CNN of issue
// #12 (5x5 1->16 on 28x28 and 5x5 16->32 on 14x14, pad 2, batch 64, float32):
// forward, backward-data and backward-weights, each with its bias. The
// figures and what they decided: CHANGELOG.md, "Performance history",
// "Convolutions: oneDNN vs im2col".
//
//   conv_backends [ROUNDS [THREADS...]]   ROUNDS timed rounds (default 21) at each
//                                         thread count (default: 1, then all usable cores)
//
// Contenders, all on NCHW input and output as tapegrad keeps its tensors:
//   im2col        per image: unfold, one sgemm through tapegrad's detail::gemm
//                 (OpenBLAS), fold back (col2im) for backward-data
//   im2col split  the same with the images split across the threads, each
//                 with its own columns and a one-thread sgemm
//   im2col-batch  the whole batch unfolded into one matrix, so one larger
//                 sgemm per pass, plus NCHW <-> CNHW transposes
//   ... sgemm only  the sgemm calls of the two above without unfold and fold
//   dnnl-any      oneDNN 2.6 choosing its layouts (format_tag::any), with the
//                 reorders from and to NCHW/OIHW timed as part of each pass:
//                 what PyTorch's CPU convolutions run (DNNL_VERBOSE=1 shows it)
//   dnnl-kernel   the same primitives without those reorders
//   dnnl-nchw     oneDNN on plain NCHW/OIHW memory, no reorders
// Each round times every (layer, pass, contender) in an order rotated from
// round to round, so that load elsewhere on the machine hits all alike; the
// tables give medians and the spread between the quartiles. Then the
// hot-loop sgemm rate of conv2's products in two orientations. oneDNN runs
// on OpenMP here: on a busy machine its spinning threads need
// OMP_WAIT_POLICY=PASSIVE (docs/performance.md).
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <tapegrad/autograd/backend/gemm.hpp>

// OpenBLAS's thread count (weak: with another BLAS the bench runs it with its
// own threading only).
extern "C" {
void openblas_set_num_threads(int) __attribute__((weak));
}

namespace {

using Clock = std::chrono::steady_clock;
using tapegrad::detail::gemm;

constexpr double kBatchesPerEpoch = 938;  // 60,000 images at batch 64 (the last batch, 32, counted whole)

struct Layer {
    const char* name;
    int n, c, h, w, oc, k, pad;
    int oh() const { return h + 2 * pad - k + 1; }
    int ow() const { return w + 2 * pad - k + 1; }
    std::size_t ohw() const { return std::size_t(oh()) * std::size_t(ow()); }
    std::size_t ckk() const { return std::size_t(c) * std::size_t(k) * std::size_t(k); }
    std::size_t x_size() const { return std::size_t(n) * std::size_t(c) * std::size_t(h) * std::size_t(w); }
    std::size_t y_size() const { return std::size_t(n) * std::size_t(oc) * ohw(); }
    std::size_t w_size() const { return std::size_t(oc) * ckk(); }
    // Multiply-adds of one pass (the same for all three).
    double flop() const { return 2.0 * double(y_size()) * double(ckk()); }
};

enum Pass { kForward, kBackwardData, kBackwardWeights, kPasses };
const char* const kPassName[kPasses] = {"forward", "backward-data", "backward-weights"};

// The operands of one layer's passes: input, weights, bias, output gradient.
struct Operands {
    std::vector<float> x, w, b, dy;
    Operands(const Layer& l, std::mt19937& rng) : x(l.x_size()), w(l.w_size()), b(std::size_t(l.oc)), dy(l.y_size()) {
        std::uniform_real_distribution<float> unit(0.0f, 1.0f), sym(-1.0f, 1.0f);
        for (float& v : x) v = unit(rng);  // images in [0, 1], activations after ReLU
        for (float& v : w) v = sym(rng) / std::sqrt(float(l.ckk()));
        for (float& v : b) v = sym(rng);
        for (float& v : dy) v = sym(rng) * 1e-3f;
    }
};

// One way of computing the three passes; the results land in NCHW / OIHW.
class Contender {
  public:
    Contender(const Layer& l, const Operands& d)
        : l_(l), d_(d), y_(l.y_size()), dx_(l.x_size()), dw_(l.w_size()), db_(std::size_t(l.oc)) {}
    virtual ~Contender() = default;
    virtual void run(Pass p) = 0;
    const std::vector<float>& y() const { return y_; }
    const std::vector<float>& dx() const { return dx_; }
    const std::vector<float>& dw() const { return dw_; }
    const std::vector<float>& db() const { return db_; }

  protected:
    const Layer& l_;
    const Operands& d_;
    std::vector<float> y_, dx_, dw_, db_;
};

// ---- im2col + sgemm -----------------------------------------------------------------------------

// Unfolds one image x (C x H x W) into col: row (c, kh, kw), column (oy, ox)
// holds x[c][oy - pad + kh][ox - pad + kw], or 0 in the padding; ld is col's
// row stride (so a batch can be unfolded side by side).
void unfold(const Layer& l, const float* x, float* col, std::size_t ld) {
    const int oh = l.oh(), ow = l.ow();
    for (int c = 0; c < l.c; ++c)
        for (int kh = 0; kh < l.k; ++kh)
            for (int kw = 0; kw < l.k; ++kw) {
                float* row = col + std::size_t((c * l.k + kh) * l.k + kw) * ld;
                // Output columns whose input column lies inside the image.
                const int lo = std::min(ow, std::max(0, l.pad - kw));
                const int hi = std::max(lo, std::min(ow, l.w + l.pad - kw));
                for (int oy = 0; oy < oh; ++oy) {
                    float* out = row + std::size_t(oy) * std::size_t(ow);
                    const int iy = oy - l.pad + kh;
                    if (iy < 0 || iy >= l.h) {
                        std::fill(out, out + ow, 0.0f);
                        continue;
                    }
                    const float* in = x + (std::size_t(c) * std::size_t(l.h) + std::size_t(iy)) * std::size_t(l.w);
                    std::fill(out, out + lo, 0.0f);
                    std::copy(in + (lo - l.pad + kw), in + (hi - l.pad + kw), out + lo);
                    std::fill(out + hi, out + ow, 0.0f);
                }
            }
}

// The adjoint of unfold: adds every entry of col back onto the pixel it came
// from (col2im). x must be zeroed by the caller.
void fold(const Layer& l, const float* col, std::size_t ld, float* x) {
    const int oh = l.oh(), ow = l.ow();
    for (int c = 0; c < l.c; ++c)
        for (int kh = 0; kh < l.k; ++kh)
            for (int kw = 0; kw < l.k; ++kw) {
                const float* row = col + std::size_t((c * l.k + kh) * l.k + kw) * ld;
                const int lo = std::min(ow, std::max(0, l.pad - kw));
                const int hi = std::max(lo, std::min(ow, l.w + l.pad - kw));
                for (int oy = 0; oy < oh; ++oy) {
                    const int iy = oy - l.pad + kh;
                    if (iy < 0 || iy >= l.h) continue;
                    const float* in = row + std::size_t(oy) * std::size_t(ow);
                    float* out = x + (std::size_t(c) * std::size_t(l.h) + std::size_t(iy)) * std::size_t(l.w);
                    for (int ox = lo; ox < hi; ++ox) out[ox - l.pad + kw] += in[ox];
                }
            }
}

// Per image, as written plainly: y_n = W col_n + b; dcol = W^T dy_n, folded;
// dW = sum_n dy_n col_n^T. Each thread takes whole images with a column
// buffer (CKK x OHW) of its own and a one-thread sgemm, when `split`;
// otherwise one image after another, OpenBLAS threading each sgemm.
// gemm_only skips unfold and fold (its columns stay as the last full call
// left them): what the sgemm calls alone cost.
class Im2col : public Contender {
  public:
    Im2col(const Layer& l, const Operands& d, bool split, bool gemm_only)
        : Contender(l, d), split_(split), gemm_only_(gemm_only) {}

    void run(Pass p) override {
        const int threads = split_ ? omp_get_max_threads() : 1;
        if (split_ && openblas_set_num_threads) openblas_set_num_threads(1);
        cols_.resize(std::size_t(threads));
        dws_.resize(std::size_t(threads));
        dbs_.resize(std::size_t(threads));
#pragma omp parallel num_threads(threads)
        {
            const std::size_t t = std::size_t(omp_get_thread_num());
            cols_[t].resize(l_.ckk() * l_.ohw());
            dws_[t].assign(l_.w_size(), 0.0f);
            dbs_[t].assign(std::size_t(l_.oc), 0.0f);
#pragma omp for schedule(static)
            for (int n = 0; n < l_.n; ++n) image(p, std::size_t(n), cols_[t].data(), dws_[t].data(), dbs_[t].data());
        }
        if (split_ && openblas_set_num_threads) openblas_set_num_threads(omp_get_max_threads());
        if (p == kBackwardWeights) {  // the threads' partial sums
            dw_ = dws_[0];
            db_ = dbs_[0];
            for (std::size_t t = 1; t < dws_.size(); ++t) {
                for (std::size_t i = 0; i < dw_.size(); ++i) dw_[i] += dws_[t][i];
                for (std::size_t o = 0; o < db_.size(); ++o) db_[o] += dbs_[t][o];
            }
        }
    }

  private:
    void image(Pass p, std::size_t n, float* col, float* dw, float* db) {
        const std::size_t ohw = l_.ohw(), ckk = l_.ckk(), oc = std::size_t(l_.oc);
        const std::size_t x_image = std::size_t(l_.c) * std::size_t(l_.h) * std::size_t(l_.w), y_image = oc * ohw;
        const float* x = d_.x.data() + n * x_image;
        const float* dy = d_.dy.data() + n * y_image;
        if (p == kForward) {
            float* y = y_.data() + n * y_image;
            if (!gemm_only_) unfold(l_, x, col, ohw);
            for (std::size_t o = 0; o < oc; ++o) std::fill(y + o * ohw, y + (o + 1) * ohw, d_.b[o]);
            gemm<float>(false, false, oc, ohw, ckk, 1.0f, d_.w.data(), ckk, col, ohw, 1.0f, y, ohw);
        } else if (p == kBackwardData) {
            float* dx = dx_.data() + n * x_image;
            gemm<float>(true, false, ckk, ohw, oc, 1.0f, d_.w.data(), ckk, dy, ohw, 0.0f, col, ohw);
            if (gemm_only_) return;
            std::fill(dx, dx + x_image, 0.0f);
            fold(l_, col, ohw, dx);
        } else {
            if (!gemm_only_) unfold(l_, x, col, ohw);
            gemm<float>(false, true, oc, ckk, ohw, 1.0f, dy, ohw, col, ohw, 1.0f, dw, ckk);
            for (std::size_t o = 0; o < oc; ++o) {
                float s = 0;
                for (std::size_t i = 0; i < ohw; ++i) s += dy[o * ohw + i];
                db[o] += s;
            }
        }
    }

    bool split_, gemm_only_;
    std::vector<std::vector<float>> cols_, dws_, dbs_;
};

// The whole batch at once: col is CKK x (N*OHW), so each pass is one sgemm
// with N times the columns; outputs and output gradients go through a
// C x N x HW copy (the sgemm's natural layout) to and from NCHW. gemm_only
// as for Im2col.
class Im2colBatch : public Contender {
  public:
    Im2colBatch(const Layer& l, const Operands& d, bool gemm_only)
        : Contender(l, d), gemm_only_(gemm_only), col_(l.ckk() * l.ohw() * std::size_t(l.n)), cn_(l.y_size()) {}

    void run(Pass p) override {
        const std::size_t ohw = l_.ohw(), ckk = l_.ckk(), oc = std::size_t(l_.oc), n = std::size_t(l_.n);
        const std::size_t cols = n * ohw, x_image = std::size_t(l_.c) * std::size_t(l_.h) * std::size_t(l_.w);
        if (!gemm_only_ && (p == kForward || p == kBackwardWeights))
            for (std::size_t i = 0; i < n; ++i) unfold(l_, d_.x.data() + i * x_image, col_.data() + i * ohw, cols);
        if (!gemm_only_ && (p == kBackwardData || p == kBackwardWeights))  // dy, NCHW -> C x N x HW
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t o = 0; o < oc; ++o)
                    std::copy_n(d_.dy.data() + (i * oc + o) * ohw, ohw, cn_.data() + o * cols + i * ohw);
        if (p == kForward) {
            gemm<float>(false, false, oc, cols, ckk, 1.0f, d_.w.data(), ckk, col_.data(), cols, 0.0f, cn_.data(), cols);
            if (gemm_only_) return;
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t o = 0; o < oc; ++o) {
                    const float* from = cn_.data() + o * cols + i * ohw;
                    float* to = y_.data() + (i * oc + o) * ohw;
                    for (std::size_t j = 0; j < ohw; ++j) to[j] = from[j] + d_.b[o];
                }
        } else if (p == kBackwardData) {
            gemm<float>(true, false, ckk, cols, oc, 1.0f, d_.w.data(), ckk, cn_.data(), cols, 0.0f, col_.data(), cols);
            if (gemm_only_) return;
            std::fill(dx_.begin(), dx_.end(), 0.0f);
            for (std::size_t i = 0; i < n; ++i) fold(l_, col_.data() + i * ohw, cols, dx_.data() + i * x_image);
        } else {
            gemm<float>(false, true, oc, ckk, cols, 1.0f, cn_.data(), cols, col_.data(), cols, 0.0f, dw_.data(), ckk);
            if (gemm_only_) return;
            for (std::size_t o = 0; o < oc; ++o) {
                float s = 0;
                for (std::size_t j = 0; j < cols; ++j) s += cn_[o * cols + j];
                db_[o] = s;
            }
        }
    }

  private:
    bool gemm_only_;
    std::vector<float> col_, cn_;
};

// ---- oneDNN -------------------------------------------------------------------------------------

using dnnl::memory;
using Tag = memory::format_tag;

// One primitive with its arguments, and the reorders between the caller's
// NCHW/OIHW buffers and the layouts the primitive chose.
struct Step {
    struct Move {
        dnnl::reorder r;
        memory from, to;
    };
    dnnl::primitive prim;
    std::unordered_map<int, memory> args;
    std::vector<Move> before, after;
    std::string impl;
};

class Onednn : public Contender {
  public:
    // any: let oneDNN choose the layouts; reorders: time the reorders with
    // the primitive (false: the primitive alone, its operands reordered once).
    Onednn(const Layer& l, const Operands& d, bool any, bool reorders)
        : Contender(l, d), eng_(dnnl::engine::kind::cpu, 0), stream_(eng_), reorders_(reorders) {
        const auto f32 = memory::data_type::f32;
        const memory::dims src{l.n, l.c, l.h, l.w}, wei{l.oc, l.c, l.k, l.k}, bias{l.oc}, dst{l.n, l.oc, l.oh(), l.ow()};
        const memory::dims strides{1, 1}, pad{l.pad, l.pad};
        const memory::desc src_user(src, f32, Tag::nchw), wei_user(wei, f32, Tag::oihw), bias_user(bias, f32, Tag::x),
            dst_user(dst, f32, Tag::nchw);
        const memory::desc src_md(src, f32, any ? Tag::any : Tag::nchw), wei_md(wei, f32, any ? Tag::any : Tag::oihw),
            dst_md(dst, f32, any ? Tag::any : Tag::nchw);
        const auto direct = dnnl::algorithm::convolution_direct;

        auto user = [&](const memory::desc& md, const float* p) { return memory(md, eng_, const_cast<float*>(p)); };
        const memory x = user(src_user, d.x.data()), w = user(wei_user, d.w.data()), b = user(bias_user, d.b.data()),
                     dy = user(dst_user, d.dy.data()), y = user(dst_user, y_.data()), dx = user(src_user, dx_.data()),
                     dw = user(wei_user, dw_.data()), db = user(bias_user, db_.data());

        const dnnl::convolution_forward::primitive_desc fwd(
            dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, direct, src_md, wei_md, bias_user,
                                            dst_md, strides, pad, pad),
            eng_);
        Step& f = steps_[kForward];
        f.prim = dnnl::convolution_forward(fwd);
        f.impl = fwd.impl_info_str();
        in(f, DNNL_ARG_SRC, fwd.src_desc(), x);
        in(f, DNNL_ARG_WEIGHTS, fwd.weights_desc(), w);
        in(f, DNNL_ARG_BIAS, fwd.bias_desc(), b);
        out(f, DNNL_ARG_DST, fwd.dst_desc(), y);

        const dnnl::convolution_backward_data::primitive_desc bwd_data(
            dnnl::convolution_backward_data::desc(direct, src_md, wei_md, dst_md, strides, pad, pad), eng_, fwd);
        Step& bd = steps_[kBackwardData];
        bd.prim = dnnl::convolution_backward_data(bwd_data);
        bd.impl = bwd_data.impl_info_str();
        in(bd, DNNL_ARG_DIFF_DST, bwd_data.diff_dst_desc(), dy);
        in(bd, DNNL_ARG_WEIGHTS, bwd_data.weights_desc(), w);
        out(bd, DNNL_ARG_DIFF_SRC, bwd_data.diff_src_desc(), dx);

        const dnnl::convolution_backward_weights::primitive_desc bwd_weights(
            dnnl::convolution_backward_weights::desc(direct, src_md, wei_md, bias_user, dst_md, strides, pad, pad),
            eng_, fwd);
        Step& bw = steps_[kBackwardWeights];
        bw.prim = dnnl::convolution_backward_weights(bwd_weights);
        bw.impl = bwd_weights.impl_info_str();
        in(bw, DNNL_ARG_SRC, bwd_weights.src_desc(), x);
        in(bw, DNNL_ARG_DIFF_DST, bwd_weights.diff_dst_desc(), dy);
        out(bw, DNNL_ARG_DIFF_WEIGHTS, bwd_weights.diff_weights_desc(), dw);
        out(bw, DNNL_ARG_DIFF_BIAS, bwd_weights.diff_bias_desc(), db);

        // Without timed reorders the operands are still reordered once, so
        // that the kernels see the real values.
        if (!reorders_)
            for (Step& s : steps_) {
                for (auto& m : s.before) m.r.execute(stream_, m.from, m.to);
                stream_.wait();
            }
    }

    void run(Pass p) override {
        Step& s = steps_[p];
        if (reorders_)
            for (auto& m : s.before) m.r.execute(stream_, m.from, m.to);
        s.prim.execute(stream_, s.args);
        if (reorders_)
            for (auto& m : s.after) m.r.execute(stream_, m.from, m.to);
        stream_.wait();
    }

    std::string describe(Pass p) const {
        const Step& s = steps_[p];
        return s.impl + ", " + std::to_string(s.before.size() + s.after.size()) + " reorders";
    }

  private:
    // Binds argument `arg` of step s to the caller's buffer `user`, through a
    // buffer in the layout the primitive wants when that differs: reordered
    // into it before the primitive (an input) or out of it after (an output).
    void bind(Step& s, int arg, const memory::desc& want, const memory& user, bool input) {
        if (want == user.get_desc()) {
            s.args[arg] = user;
            return;
        }
        memory m(want, eng_);
        if (input)
            s.before.push_back({dnnl::reorder(user, m), user, m});
        else
            s.after.push_back({dnnl::reorder(m, user), m, user});
        s.args[arg] = m;
    }
    void in(Step& s, int arg, const memory::desc& want, const memory& user) { bind(s, arg, want, user, true); }
    void out(Step& s, int arg, const memory::desc& want, const memory& user) { bind(s, arg, want, user, false); }

    dnnl::engine eng_;
    dnnl::stream stream_;
    bool reorders_;
    Step steps_[kPasses];
};

// ---- measurement --------------------------------------------------------------------------------

double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    const double pos = q * double(v.size() - 1);
    const std::size_t i = std::size_t(pos);
    return i + 1 < v.size() ? v[i] + (pos - double(i)) * (v[i + 1] - v[i]) : v[i];
}

// Largest |a - b| relative to the largest |b|.
double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, double(std::abs(a[i] - b[i])));
        scale = std::max(scale, double(std::abs(b[i])));
    }
    return scale > 0 ? diff / scale : diff;
}

int usable_cores() {
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
}

const char* isa_name(dnnl::cpu_isa isa) {
    switch (isa) {
        case dnnl::cpu_isa::sse41: return "sse41";
        case dnnl::cpu_isa::avx: return "avx";
        case dnnl::cpu_isa::avx2: return "avx2";
        case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
        case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
        case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
        case dnnl::cpu_isa::avx512_core: return "avx512_core";
        case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
        case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
        case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
        default: return "all";
    }
}

// The sgemm rate of each conv2 product per image, hot in cache, in the
// orientation im2col uses (NCHW: output channels as the short side) and with
// output pixels as rows (what an NHWC im2col would multiply: `rows` is the
// unfolded image as (H·W) x (C·25), dy as (H·W) x O).
void sgemm_rates() {
    struct Product {
        const char* what;
        std::size_t m, n, k;
        bool ta, tb;
    };
    const Product products[] = {
        {"forward W col (NCHW)", 32, 196, 400, false, false},
        {"forward rows W^T (NHWC)", 196, 32, 400, false, true},
        {"backward-data W^T dy (NCHW)", 400, 196, 32, true, false},
        {"backward-data dy W (NHWC)", 196, 400, 32, false, false},
        {"backward-weights dy col^T (NCHW)", 32, 400, 196, false, true},
        {"backward-weights dy^T rows (NHWC)", 32, 400, 196, true, false},
    };
    std::printf("\nsgemm alone, conv2's products for one image, hot in cache (best of 7 runs of >= 20 ms):\n\n");
    std::printf("| product | m x n x k | GFLOP/s |\n|---|---|---:|\n");
    for (const Product& p : products) {
        std::vector<float> a(p.m * p.k, 0.5f), b(p.k * p.n, 0.25f), c(p.m * p.n);
        auto once = [&] {
            gemm<float>(p.ta, p.tb, p.m, p.n, p.k, 1.0f, a.data(), p.ta ? p.m : p.k, b.data(), p.tb ? p.k : p.n, 0.0f,
                        c.data(), p.n);
        };
        double best = 0;
        for (int r = 0; r < 7; ++r) {
            int calls = 0;
            const auto t0 = Clock::now();
            double t = 0;
            do {
                once();
                ++calls;
                t = std::chrono::duration<double>(Clock::now() - t0).count();
            } while (t < 0.02);
            best = std::max(best, 2.0 * double(p.m * p.n * p.k) * calls / t / 1e9);
        }
        std::printf("| %s | %zux%zux%zu | %.0f |\n", p.what, p.m, p.n, p.k, best);
    }
}

struct Entry {
    const char* name;
    const char* what;
};
const Entry kContenders[] = {
    {"im2col", "per image: unfold, sgemm (OpenBLAS threads), fold"},
    {"im2col sgemm only", "the same sgemm calls without unfold and fold"},
    {"im2col split", "images split across the threads, one-thread sgemm each"},
    {"im2col-batch", "whole batch unfolded, one sgemm per pass, NCHW<->CNHW copies"},
    {"im2col-batch sgemm only", "its sgemm alone"},
    {"dnnl-any", "oneDNN's chosen layouts, reorders from and to NCHW timed (as PyTorch)"},
    {"dnnl-kernel", "the same primitives without the reorders"},
    {"dnnl-nchw", "oneDNN on plain NCHW/OIHW"},
};
constexpr std::size_t kCount = sizeof kContenders / sizeof kContenders[0];
constexpr std::size_t kDnnlAny = 5, kDnnlNchw = 7;
// Compared with plain im2col's results (the others skip steps or share a primitive).
const std::size_t kChecked[] = {2, 3, kDnnlAny, kDnnlNchw};

std::unique_ptr<Contender> make(std::size_t which, const Layer& l, const Operands& d) {
    switch (which) {
        case 0: return std::make_unique<Im2col>(l, d, false, false);
        case 1: return std::make_unique<Im2col>(l, d, false, true);
        case 2: return std::make_unique<Im2col>(l, d, true, false);
        case 3: return std::make_unique<Im2colBatch>(l, d, false);
        case 4: return std::make_unique<Im2colBatch>(l, d, true);
        case 5: return std::make_unique<Onednn>(l, d, true, true);
        case 6: return std::make_unique<Onednn>(l, d, true, false);
        default: return std::make_unique<Onednn>(l, d, false, false);
    }
}

void measure(int threads, int rounds, const std::vector<Layer>& layers, const std::vector<Operands>& data) {
    if (openblas_set_num_threads) openblas_set_num_threads(threads);
    omp_set_num_threads(threads);  // before the primitives are made: they size their scratch by it

    // The (layer, pass) cells, those of a training epoch first: it needs no
    // gradient of the images, so the first layer's backward-data comes last.
    struct Cell {
        std::size_t layer;
        Pass pass;
    };
    const std::vector<Cell> cells = {{0, kForward}, {0, kBackwardWeights}, {1, kForward},
                                     {1, kBackwardData}, {1, kBackwardWeights}, {0, kBackwardData}};
    constexpr std::size_t kEpochCells = 5;

    std::vector<std::vector<std::unique_ptr<Contender>>> c(layers.size());
    for (std::size_t i = 0; i < layers.size(); ++i)
        for (std::size_t k = 0; k < kCount; ++k) c[i].push_back(make(k, layers[i], data[i]));

    std::printf("\n## %d thread%s\n\n", threads, threads > 1 ? "s" : "");
    // Warm-up, and the results against plain im2col's.
    std::printf("| layer | pass | oneDNN implementation: any / nchw | largest difference to im2col, relative |\n");
    std::printf("|---|---|---|---:|\n");
    for (const Cell& cell : cells) {
        auto& row = c[cell.layer];
        for (auto& x : row) x->run(cell.pass);
        double worst = 0;
        for (std::size_t k : kChecked) {
            const Contender &a = *row[k], &ref = *row[0];
            if (cell.pass == kForward) worst = std::max(worst, rel_diff(a.y(), ref.y()));
            if (cell.pass == kBackwardData) worst = std::max(worst, rel_diff(a.dx(), ref.dx()));
            if (cell.pass == kBackwardWeights)
                worst = std::max({worst, rel_diff(a.dw(), ref.dw()), rel_diff(a.db(), ref.db())});
        }
        std::printf("| %s | %s | %s / %s | %.1e |\n", layers[cell.layer].name, kPassName[cell.pass],
                    static_cast<Onednn&>(*row[kDnnlAny]).describe(cell.pass).c_str(),
                    static_cast<Onednn&>(*row[kDnnlNchw]).describe(cell.pass).c_str(), worst);
    }

    // times[cell][contender]: one sample per round, ms per call.
    std::vector<std::vector<std::vector<double>>> times(cells.size(), std::vector<std::vector<double>>(kCount));
    constexpr int kCalls = 3;  // per sample
    for (int r = 0; r < rounds; ++r)
        for (std::size_t i = 0; i < cells.size(); ++i)
            for (std::size_t j = 0; j < kCount; ++j) {
                const std::size_t k = (j + std::size_t(r)) % kCount;
                Contender& x = *c[cells[i].layer][k];
                x.run(cells[i].pass);  // untimed: lets the previous contender's threads go idle
                const auto t0 = Clock::now();
                for (int call = 0; call < kCalls; ++call) x.run(cells[i].pass);
                times[i][k].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / kCalls);
            }

    std::printf("\nms per call: median of %d rounds (the quartiles' spread in %% of it) and GFLOP/s at the median. "
                "Epoch: %.0f batches of the first five columns (the last batch, 32, counted whole); "
                "the first layer's backward-data is not part of training.\n\n",
                rounds, kBatchesPerEpoch);
    std::printf("| contender |");
    for (const Cell& cell : cells) std::printf(" conv%zu %s |", cell.layer + 1, kPassName[cell.pass]);
    std::printf(" epoch s | epoch / dnnl-any |\n|---|");
    for (std::size_t i = 0; i <= cells.size() + 1; ++i) std::printf("---:|");
    std::printf("\n");
    std::vector<double> epoch(kCount, 0.0);
    for (std::size_t k = 0; k < kCount; ++k)
        for (std::size_t i = 0; i < kEpochCells; ++i) epoch[k] += quantile(times[i][k], 0.5);
    for (std::size_t k = 0; k < kCount; ++k) {
        std::printf("| %s |", kContenders[k].name);
        for (std::size_t i = 0; i < cells.size(); ++i) {
            const auto& t = times[i][k];
            const double med = quantile(t, 0.5), spread = (quantile(t, 0.75) - quantile(t, 0.25)) / med * 100;
            std::printf(" %.3f (%.0f%%) %.0f |", med, spread, layers[cells[i].layer].flop() / (med * 1e6));
        }
        std::printf(" %.2f | %.2f |\n", epoch[k] * kBatchesPerEpoch / 1e3, epoch[k] / epoch[kDnnlAny]);
    }
    sgemm_rates();
}

}  // namespace

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 21;
    std::vector<int> thread_counts;
    for (int i = 2; i < argc; ++i) thread_counts.push_back(std::atoi(argv[i]));
    if (thread_counts.empty()) {
        thread_counts.push_back(1);
        if (usable_cores() > 1) thread_counts.push_back(usable_cores());
    }
    if (rounds < 1 || *std::min_element(thread_counts.begin(), thread_counts.end()) < 1) {
        std::fprintf(stderr, "usage: conv_backends [ROUNDS [THREADS...]]\n");
        return 2;
    }
    const std::vector<Layer> layers = {{"conv1 5x5 1->16, 28x28", 64, 1, 28, 28, 16, 5, 2},
                                       {"conv2 5x5 16->32, 14x14", 64, 16, 14, 14, 32, 5, 2}};
    std::mt19937 rng(12);
    std::vector<Operands> data;
    for (const Layer& l : layers) data.emplace_back(l, rng);

    const dnnl::version_t* v = dnnl::version();
    std::printf("# Convolutions of the issue-#12 CNN, batch 64, float32: oneDNN vs im2col + sgemm\n\n");
    std::printf("BLAS: %s. oneDNN %d.%d.%d, effective ISA %s. Cores usable: %d.\n", tapegrad::detail::blas_kernel().c_str(),
                v->major, v->minor, v->patch, isa_name(dnnl::get_effective_cpu_isa()), usable_cores());
    for (const Entry& e : kContenders) std::printf("- %s: %s\n", e.name, e.what);
    try {
        for (int threads : thread_counts) measure(threads, rounds, layers, data);
    } catch (const dnnl::error& e) {
        std::fprintf(stderr, "conv_backends: oneDNN: %s (status %d)\n", e.what(), int(e.status));
        return 1;
    }
    return 0;
}
