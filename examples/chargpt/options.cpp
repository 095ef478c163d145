#include "options.hpp"

#include <CLI/CLI.hpp>

#include "../output_flags.hpp"
#include "../parse_flags.hpp"
#include "../unsigned_flags.hpp"

namespace chargpt {

namespace {

void add_flags(CLI::App& app, Options& o) {
    app.add_option("--model", o.model,
                   "gpt: makemore's transformer (embedding 64, 2 pre-LN blocks of 4 heads, MLP 64-256-64); "
                   "lstm, gru: embedding 64, one recurrent layer of 128")
        ->check(CLI::IsMember({"gpt", "lstm", "gru"}))->capture_default_str();
    examples::add_unsigned(app, "--steps", o.steps, "training steps (AdamW, lr 5e-4)")->check(CLI::PositiveNumber)
        ->capture_default_str();
    examples::add_unsigned(app, "--batch-size", o.batch_size, "words per step, drawn at random with replacement")
        ->check(CLI::PositiveNumber)->capture_default_str();
    examples::add_unsigned(app, "--seed", o.seed, "seed of the initial weights and the batches (the test set is fixed)")
        ->capture_default_str();
    examples::add_unsigned(app, "--sample", o.sample, "print N new words drawn from the model at the end; 0 = none")
        ->capture_default_str();
    app.add_option("--words", o.words,
                   std::string("the word list, one word a line; lines other than 1 to ") +
                       std::to_string(block_size - 1) + " letters a-z are skipped (Debian's: " + words_setup_hint +
                       ")")
        ->capture_default_str();
    auto* load = app.add_option("--load", o.load, "evaluate the parameters in FILE.npz on the test set, no training");
    app.add_option("--save", o.save, "write the trained parameters to FILE.npz (PyTorch's state_dict names)")
        ->excludes(load);
    app.add_option("--metrics", o.metrics, "write the training and test losses to FILE.csv")->excludes(load);
    app.add_option("--plot", o.plot, "draw the loss curves into FILE.svg")->excludes(load);
}

}  // namespace

ParsedCommandLine parse_command_line(int argc, char** argv) {
    ParsedCommandLine parsed;
    Options& o = parsed.options;
    CLI::App app("Trains a character-level language model on a word list and reports its test loss in nats per "
                 "character.", "chargpt");
    add_flags(app, o);
    // Run by app.parse once every flag is read: its error is a usage error as a bad flag's.
    app.callback([&o] { examples::check_outputs({{"--save", &o.save}, {"--metrics", &o.metrics}, {"--plot", &o.plot}}); });
    parsed.exit_code = examples::parse_flags(app, argc, argv);
    return parsed;
}

}  // namespace chargpt
