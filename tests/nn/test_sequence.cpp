// Embedding, LSTM, GRU and the cells as modules: parameters and their
// starting values, options and printouts, errors, dropout between layers, the
// padding row's gradient and gradchecks. Their values against PyTorch are in
// tests/interchange/test_sequence_modules.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <tapegrad/autograd/gradcheck.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/embedding.hpp>
#include <tapegrad/nn/flatten.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/rnn.hpp>
#include <tapegrad/nn/sequential.hpp>
#include "../common/error_of.hpp"
#include "printed.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;
using tapegrad::testing::error_of;

namespace {


bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<std::string> names_of(const Module<double>& module) {
    std::vector<std::string> names;
    for (const auto& named : module.named_parameters()) names.push_back(named.first + " " + shape_str(named.second.shape()));
    return names;
}

}  // namespace

// ---- Embedding -----------------------------------------------------------------

TEST_CASE("Embedding: rows of the weight for ids of any shape, PyTorch's N(0, 1) start with the padding row zeroed") {
    Embedding<double> emb(EmbeddingOptions(6, 3).padding_idx(-2).seed(4));
    CHECK(emb.padding_idx() == 4);  // -2 counts from the end, as PyTorch
    CHECK(printed(emb) == "Embedding(6, 3, padding_idx=4)");
    CHECK(names_of(emb) == std::vector<std::string>{"weight (6, 3)"});
    const xt::xarray<double> w = emb.weight().data();
    for (std::size_t j = 0; j < 3; ++j) CHECK(w(4, j) == 0.0);
    // The same seed, the same table; another seed, another.
    CHECK(Embedding<double>(EmbeddingOptions(6, 3).padding_idx(4).seed(4)).weight().data() == w);
    CHECK(Embedding<double>(EmbeddingOptions(6, 3).padding_idx(4).seed(5)).weight().data() != w);

    const Indices ids = {{5, 0, 4}, {1, 1, 3}};
    const Tensor<double> out = emb(ids);
    REQUIRE(out.shape() == Shape{2, 3, 3});
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            for (std::size_t k = 0; k < 3; ++k) CHECK(out.at({i, j, k}) == w(std::size_t(ids(i, j)), k));
    CHECK(emb(Indices(2)).shape() == Shape{3});                          // 0-d id -> one row
    CHECK(emb(Indices::from_shape({0, 2})).shape() == Shape{0, 2, 3});   // no ids
}

TEST_CASE("Embedding: the starting weight is N(0, 1) (not uniform, not scaled)") {
    const Embedding<double> emb(EmbeddingOptions(200, 50).seed(1));
    const xt::xarray<double> w = emb.weight().data();
    const double mean = xt::mean(w)(), sd = std::sqrt(xt::variance(w)());
    // 10,000 draws: the mean's standard error is 0.01 and the sd's about 0.007.
    CHECK(std::abs(mean) < 0.05);
    CHECK(std::abs(sd - 1.0) < 0.05);
    CHECK(xt::amax(xt::abs(w))() > 3.0);  // a uniform start has no tail
}

TEST_CASE("Embedding: the padding row gives its value but gets no gradient, as PyTorch's") {
    Embedding<double> emb(EmbeddingOptions(5, 2).padding_idx(0).seed(2));
    emb.weight().data_mut()(0, 1) = 7.0;  // a padding row that is not zero (loaded, say)
    const Indices ids = {0, 3, 0, 3, 2};
    const Tensor<double> out = emb(ids);
    CHECK(out.at({0, 1}) == 7.0);
    CHECK(out.at({2, 1}) == 7.0);
    const Tensor<double> weights = Tensor<double>::of({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}, {7.0, 8.0}, {9.0, 10.0}});
    sum(out * weights).backward();
    const xt::xarray<double> expected = {{0, 0}, {0, 0}, {9, 10}, {3 + 7, 4 + 8}, {0, 0}};  // id 3 twice: sums
    CHECK(emb.weight().grad().data() == expected);
    // The functional form is the same.
    CHECK(embedding(emb.weight(), ids, 0).data() == out.data());
}

TEST_CASE("Embedding: gradcheck of the weight, and ids as a tensor of whole numbers in a Sequential") {
    Embedding<double> emb(EmbeddingOptions(4, 3).seed(3));
    const Indices ids = {{1, 3}, {3, 0}};
    const auto report = gradcheck<double>([&](const TensorList<double>&) { return TensorList<double>{emb(ids)}; },
                                          {emb.weight()});
    CHECK_MESSAGE(report.passed, report.summary());

    auto emb_ptr = std::make_shared<Embedding<double>>(EmbeddingOptions(4, 3).seed(3));
    Sequential<double> net;
    net.push_back(emb_ptr);
    net.push_back(std::make_shared<Flatten<double>>());
    net.push_back(std::make_shared<Linear<double>>(LinearOptions(6, 2).seed(1)));
    const Tensor<double> id_values = Tensor<double>::of({{1.0, 3.0}, {3.0, 0.0}});
    CHECK(emb_ptr->forward(id_values).data() == emb_ptr->forward(ids).data());
    sum(net(id_values)).backward();
    CHECK(emb_ptr->weight().grad().defined());
}

TEST_CASE("Embedding: bad ids, options and weights are Errors naming the module, the id and the shapes") {
    Embedding<double> emb(5, 3);
    CHECK(error_of([&] { emb(Indices{{0, 1}, {5, 2}}); }) ==
          "Embedding(5, 3): id 5 at position (1, 0) of ids (2, 2) is out of range [0, 5) of a weight of shape (5, 3)");
    CHECK(contains(error_of([&] { emb(Indices{-1}); }), "id -1 at position (0,)"));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (double bad : {1.5, -1.0, 5.0, nan, 1e30}) {
        CAPTURE(bad);
        const std::string message = error_of([&] { emb(Tensor<double>::of({{0.0, bad}})); });
        CHECK(contains(message, "Embedding(5, 3): expects ids, whole numbers in [0, 5), got "));
        CHECK(contains(message, "at position (0, 1) of input (1, 2)"));
    }
    CHECK(error_of([] { Embedding<double>(EmbeddingOptions(5, 3).padding_idx(5)); }) ==
          "Embedding(5, 3): padding_idx 5 must be in [-5, 5)");
    CHECK(error_of([] { EmbeddingOptions(0, 3); }) == "EmbeddingOptions: num_embeddings must be > 0, got 0");
    CHECK(error_of([] { embedding(Tensor<double>::zeros({5}), Indices{0}); }) ==
          "embedding: the weight must be 2-D (num_embeddings, embedding_dim), got (5,)");
    CHECK(error_of([] { embedding(Tensor<double>::zeros({5, 2}), Indices{0}, 7); }) ==
          "embedding: padding_idx 7 is out of range for a weight of shape (5, 2)");
    CHECK_FALSE(emb.weight().grad().defined());  // nothing was recorded
}

// ---- LSTM, GRU and their cells ----------------------------------------------------

TEST_CASE("LSTM and GRU: PyTorch's parameter names, shapes and order; U(-1/sqrt(hidden), 1/sqrt(hidden)) from the seed") {
    LSTM<double> lstm(RNNOptions(3, 4).num_layers(2).bidirectional(true).seed(1));
    CHECK(names_of(lstm) == std::vector<std::string>{
                                "weight_ih_l0 (16, 3)", "weight_hh_l0 (16, 4)", "bias_ih_l0 (16,)", "bias_hh_l0 (16,)",
                                "weight_ih_l0_reverse (16, 3)", "weight_hh_l0_reverse (16, 4)", "bias_ih_l0_reverse (16,)",
                                "bias_hh_l0_reverse (16,)", "weight_ih_l1 (16, 8)", "weight_hh_l1 (16, 4)",
                                "bias_ih_l1 (16,)", "bias_hh_l1 (16,)", "weight_ih_l1_reverse (16, 8)",
                                "weight_hh_l1_reverse (16, 4)", "bias_ih_l1_reverse (16,)", "bias_hh_l1_reverse (16,)"});
    GRU<double> gru(RNNOptions(3, 5).bias(false).seed(1));
    CHECK(names_of(gru) == std::vector<std::string>{"weight_ih_l0 (15, 3)", "weight_hh_l0 (15, 5)"});
    CHECK(names_of(LSTMCell<double>(3, 4)) ==
          std::vector<std::string>{"weight_ih (16, 3)", "weight_hh (16, 4)", "bias_ih (16,)", "bias_hh (16,)"});
    CHECK(names_of(GRUCell<double>(RNNCellOptions(3, 4).bias(false))) ==
          std::vector<std::string>{"weight_ih (12, 3)", "weight_hh (12, 4)"});

    double lowest = 0, highest = 0;
    for (const auto& param : lstm.parameters()) {
        lowest = std::min(lowest, xt::amin(param.data())());
        highest = std::max(highest, xt::amax(param.data())());
    }
    CHECK(lowest >= -0.5);  // 1 / sqrt(4)
    CHECK(highest <= 0.5);
    CHECK(lowest < -0.45);  // and spread over the whole range
    CHECK(highest > 0.45);
    // Each parameter draws from its own stream of the seed.
    CHECK(lstm.parameters()[0].data() != lstm.parameters()[4].data());
    const LSTM<double> again(RNNOptions(3, 4).num_layers(2).bidirectional(true).seed(1));
    CHECK(again.state_dict() == lstm.state_dict());
    CHECK(LSTM<double>(RNNOptions(3, 4).num_layers(2).bidirectional(true).seed(2)).state_dict() != lstm.state_dict());
}

TEST_CASE("LSTM and GRU: printouts as PyTorch's, and options checked") {
    CHECK(printed(LSTM<double>(3, 4)) == "LSTM(3, 4)");
    CHECK(printed(GRU<float>(RNNOptions(3, 4).num_layers(2).bias(false).batch_first(true).dropout(0.25).bidirectional(true))) ==
          "GRU(3, 4, num_layers=2, bias=false, batch_first=true, dropout=0.25, bidirectional=true)");
    CHECK(printed(LSTMCell<double>(3, 4)) == "LSTMCell(3, 4)");
    CHECK(printed(GRUCell<double>(RNNCellOptions(3, 4).bias(false))) == "GRUCell(3, 4, bias=false)");
    CHECK(error_of([] { RNNOptions(3, 0); }) == "RNNOptions: hidden_size must be > 0, got 0");
    CHECK(error_of([] { RNNOptions(3, 4).dropout(1.5); }) == "RNNOptions: dropout must be in [0, 1], got 1.5");
    CHECK(error_of([] { RNNOptions(3, 4).num_layers(0); }) == "RNNOptions: num_layers must be > 0, got 0");
    CHECK(error_of([] { RNNCellOptions(0, 4); }) == "RNNCellOptions: input_size must be > 0, got 0");
}

TEST_CASE("LSTM and GRU: shapes of outputs and states, batch of 0, in a Sequential, in float") {
    LSTM<double> lstm(RNNOptions(3, 4).num_layers(2).bidirectional(true).batch_first(true).seed(1));
    const auto out = lstm(Tensor<double>::normal({2, 5, 3}, 0, 1, 1), {});
    CHECK(out.output.shape() == Shape{2, 5, 8});
    CHECK(out.state.h.shape() == Shape{4, 2, 4});
    CHECK(out.state.c.shape() == Shape{4, 2, 4});
    // The last step's forward features are the last layer's final forward h,
    // the first step's reverse features its final reverse h.
    for (std::size_t b = 0; b < 2; ++b)
        for (std::size_t k = 0; k < 4; ++k) {
            CHECK(out.output.at({b, 4, k}) == out.state.h.at({2, b, k}));
            CHECK(out.output.at({b, 0, 4 + k}) == out.state.h.at({3, b, k}));
        }
    GRU<double> gru(RNNOptions(3, 4).seed(1));
    const auto empty = gru(Tensor<double>::zeros({6, 0, 3}), {});  // PyTorch allows an empty batch
    CHECK(empty.output.shape() == Shape{6, 0, 4});
    CHECK(empty.h.shape() == Shape{1, 0, 4});

    Sequential<double> net;
    auto gru_ptr = std::make_shared<GRU<double>>(RNNOptions(3, 4).seed(1));
    net.push_back(gru_ptr);
    const Tensor<double> x = Tensor<double>::normal({5, 2, 3}, 0, 1, 2);
    CHECK(net(x).data() == (*gru_ptr)(x, {}).output.data());

    // NaN in a row's first step: that row is NaN from then on, the other row is not.
    Tensor<double> with_nan = Tensor<double>::normal({5, 2, 3}, 0, 1, 4);
    with_nan.at({0, 1, 2}) = std::numeric_limits<double>::quiet_NaN();
    const Tensor<double> nan_out = (*gru_ptr)(with_nan);
    for (std::size_t t = 0; t < 5; ++t) {
        CHECK(std::isnan(nan_out.at({t, 1, 0})));
        CHECK_FALSE(std::isnan(nan_out.at({t, 0, 0})));
    }

    LSTM<float> small(RNNOptions(2, 3).seed(1));
    CHECK(small(Tensor<float>::ones({4, 1, 2})).shape() == Shape{4, 1, 3});
}

TEST_CASE("LSTM and GRU: dropout between layers in training only") {
    for (const bool is_lstm : {true, false}) {
        CAPTURE(is_lstm);
        const RNNOptions options = RNNOptions(3, 4).num_layers(2).seed(5);
        std::shared_ptr<Module<double>> plain, dropped;
        if (is_lstm) {
            plain = std::make_shared<LSTM<double>>(options);
            dropped = std::make_shared<LSTM<double>>(RNNOptions(options).dropout(1.0));
        } else {
            plain = std::make_shared<GRU<double>>(options);
            dropped = std::make_shared<GRU<double>>(RNNOptions(options).dropout(1.0));
        }
        const Tensor<double> x = Tensor<double>::normal({4, 2, 3}, 0, 1, 3);
        dropped->eval();
        CHECK((*dropped)(x).data() == (*plain)(x).data());  // no dropout in evaluation
        dropped->train();
        // p = 1: layer 1 sees only zeros, so its output is that of layer 1
        // alone (as a one-layer module) on zeros.
        const std::shared_ptr<Module<double>> second =
            is_lstm ? std::shared_ptr<Module<double>>(std::make_shared<LSTM<double>>(RNNOptions(4, 4)))
                    : std::make_shared<GRU<double>>(RNNOptions(4, 4));
        StateDict<double> layer1;
        for (const auto& [name, value] : plain->state_dict())
            if (name.size() > 3 && name.compare(name.size() - 3, 3, "_l1") == 0)
                layer1[name.substr(0, name.size() - 1) + "0"] = value;
        second->load_state(layer1);
        CHECK((*dropped)(x).data() == (*second)(Tensor<double>::zeros({4, 2, 4})).data());
        CHECK((*dropped)(x).data() != (*plain)(x).data());
    }
}

TEST_CASE("LSTM, GRU and the cells: inputs and states of the wrong shape are Errors naming the module and the shapes") {
    LSTM<double> lstm(RNNOptions(3, 4).num_layers(2).seed(1));
    const Tensor<double> x = Tensor<double>::zeros({5, 2, 3});
    CHECK(error_of([&] { lstm(Tensor<double>::zeros({5, 2, 2})); }) ==
          "LSTM(3, 4, num_layers=2): expects input of shape (seq, batch, 3) or (seq, 3), got (5, 2, 2)");
    CHECK(error_of([&] { lstm(Tensor<double>::zeros({5, 2, 1, 3})); }) ==
          "LSTM(3, 4, num_layers=2): expects input of shape (seq, batch, 3) or (seq, 3), got (5, 2, 1, 3)");
    CHECK(error_of([&] { lstm(Tensor<double>::zeros({3})); }) ==
          "LSTM(3, 4, num_layers=2): expects input of shape (seq, batch, 3) or (seq, 3), got (3,)");
    CHECK(error_of([&] { lstm(Tensor<double>::zeros({0, 2, 3})); }) ==
          "LSTM(3, 4, num_layers=2): the sequence of input (0, 2, 3) is empty");
    CHECK(error_of([&] { lstm(x, {Tensor<double>::zeros({2, 3, 4}), Tensor<double>::zeros({2, 2, 4})}); }) ==
          "LSTM(3, 4, num_layers=2): expects h0 of shape (2, 2, 4), got (2, 3, 4)");
    CHECK(error_of([&] { lstm(x, {Tensor<double>::zeros({2, 2, 4}), Tensor<double>::zeros({1, 2, 4})}); }) ==
          "LSTM(3, 4, num_layers=2): expects c0 of shape (2, 2, 4), got (1, 2, 4)");
    CHECK(error_of([&] { lstm(x, {Tensor<double>::zeros({2, 2, 4}), Tensor<double>()}); }) ==
          "LSTM(3, 4, num_layers=2): h0 and c0 are given both or neither, got only h0");
    GRU<double> gru(RNNOptions(3, 4).batch_first(true).seed(1));
    CHECK(error_of([&] { gru(Tensor<double>::zeros({2, 5, 4})); }) ==
          "GRU(3, 4, batch_first=true): expects input of shape (batch, seq, 3) or (seq, 3), got (2, 5, 4)");
    CHECK(error_of([&] { gru(Tensor<double>::zeros({5, 3}), Tensor<double>::zeros({1, 1, 4})); }) ==
          "GRU(3, 4, batch_first=true): expects h0 of shape (1, 4), got (1, 1, 4)");  // unbatched input

    LSTMCell<double> lstm_cell(3, 4);
    CHECK(error_of([&] { lstm_cell(Tensor<double>::zeros({2, 4})); }) ==
          "LSTMCell(3, 4): expects input of shape (batch, 3) or (3,), got (2, 4)");
    CHECK(error_of([&] { lstm_cell(Tensor<double>::zeros({2, 3}), {Tensor<double>::zeros({2, 4}), Tensor<double>::zeros({4})}); }) ==
          "LSTMCell(3, 4): expects c of shape (2, 4) for input of shape (2, 3), got (4,)");
    CHECK(error_of([&] { lstm_cell(Tensor<double>::zeros({2, 3}), {Tensor<double>(), Tensor<double>::zeros({2, 4})}); }) ==
          "LSTMCell(3, 4): h and c are given both or neither, got only c");
    GRUCell<double> gru_cell(3, 4);
    CHECK(error_of([&] { gru_cell(Tensor<double>::zeros({3}), Tensor<double>::zeros({1, 4})); }) ==
          "GRUCell(3, 4): expects h of shape (4,) for input of shape (3,), got (1, 4)");
    for (const auto& param : lstm.parameters()) CHECK_FALSE(param.grad().defined());
}

TEST_CASE("LSTMCell and GRUCell: gradcheck and gradgradcheck over input, states and every parameter") {
    LSTMCell<double> lstm_cell(RNNCellOptions(3, 2).seed(1));
    GRUCell<double> gru_cell(RNNCellOptions(3, 2).seed(2));
    const Tensor<double> x = Tensor<double>::normal({2, 3}, 0, 1, 3, true), h = Tensor<double>::normal({2, 2}, 0, 1, 4, true),
                         c = Tensor<double>::normal({2, 2}, 0, 1, 5, true);
    TensorList<double> lstm_inputs{x, h, c}, gru_inputs{x, h};
    for (const auto& p : lstm_cell.parameters()) lstm_inputs.push_back(p);
    for (const auto& p : gru_cell.parameters()) gru_inputs.push_back(p);
    // gradcheck perturbs the parameters in place through these handles.
    const DiffFunction<double> lstm_f = [&](const TensorList<double>& in) {
        const LSTMState<double> next = lstm_cell(in[0], {in[1], in[2]});
        return TensorList<double>{next.h, next.c};
    };
    const DiffFunction<double> gru_f = [&](const TensorList<double>& in) { return TensorList<double>{gru_cell(in[0], in[1])}; };
    for (const auto& [f, inputs] : {std::make_pair(lstm_f, lstm_inputs), std::make_pair(gru_f, gru_inputs)}) {
        const auto first = gradcheck<double>(f, inputs);
        CHECK_MESSAGE(first.passed, first.summary());
        const auto second = gradgradcheck<double>(f, inputs, GradcheckOptions().seed(1));
        CHECK_MESSAGE(second.passed, second.summary());
    }
}

TEST_CASE("LSTM and GRU: gradcheck over a two-layer bidirectional sequence, its input, states and parameters") {
    LSTM<double> lstm(RNNOptions(2, 2).num_layers(2).bidirectional(true).batch_first(true).seed(1));
    GRU<double> gru(RNNOptions(2, 2).num_layers(2).bidirectional(true).seed(2));
    const Tensor<double> x = Tensor<double>::normal({2, 3, 2}, 0, 1, 3, true), h0 = Tensor<double>::normal({4, 2, 2}, 0, 1, 4, true),
                         c0 = Tensor<double>::normal({4, 2, 2}, 0, 1, 5, true);
    const Tensor<double> gru_h0 = Tensor<double>::normal({4, 3, 2}, 0, 1, 7, true);  // time-major: batch 3
    TensorList<double> lstm_inputs{x, h0, c0}, gru_inputs{x, gru_h0};
    for (const auto& p : lstm.parameters()) lstm_inputs.push_back(p);
    for (const auto& p : gru.parameters()) gru_inputs.push_back(p);
    const Tensor<double> w = Tensor<double>::normal({2, 3, 4}, 0, 1, 6);
    // A scalar of everything the module gives, so each check is one backward.
    const DiffFunction<double> lstm_f = [&](const TensorList<double>& in) {
        const auto out = lstm(in[0], {in[1], in[2]});
        return TensorList<double>{sum(out.output * w) + sum(out.state.h * out.state.c)};
    };
    const DiffFunction<double> gru_f = [&](const TensorList<double>& in) {
        const auto out = gru(in[0], in[1]);
        return TensorList<double>{sum(out.output * w) + sum(out.h * out.h)};
    };
    for (const auto& [f, inputs] : {std::make_pair(lstm_f, lstm_inputs), std::make_pair(gru_f, gru_inputs)}) {
        const auto report = gradcheck<double>(f, inputs);
        CHECK_MESSAGE(report.passed, report.summary());
    }
}
