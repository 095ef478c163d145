#include <tapegrad/train/svg_plot.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace tapegrad::train {

namespace {

constexpr double panel_width = 440, panel_height = 320, margin_left = 70, margin_top = 50, margin_bottom = 55,
                 gap = 40;
const char* const train_color = "#1f77b4";
const char* const valid_color = "#d62728";

struct Range {
    double low, high;
    double span() const { return high - low; }
};

struct LegendEntry {
    std::string label;
    std::string color;
    bool dashed;
};

struct Series {
    const char* label;
    const char* color;
    std::vector<double> values;
};

std::string number(double value, int decimals) {
    char text[32];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

// A step of 1, 2 or 5 times a power of ten giving at most ~6 ticks.
double tick_step(const Range& range) {
    const double raw = range.span() / 6;
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    for (double factor : {1.0, 2.0, 5.0})
        if (factor * power >= raw) return factor * power;
    return 10 * power;
}

int decimals_for(double step) { return std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9))); }

// The range of the finite data widened to whole ticks, never empty; [0, 1]
// when there is none (no epoch finished, or every value non-finite).
Range padded_range(const std::vector<const Series*>& series) {
    Range r{INFINITY, -INFINITY};
    for (const Series* s : series)
        for (double v : s->values)
            if (std::isfinite(v)) r = {std::min(r.low, v), std::max(r.high, v)};
    if (r.low > r.high) r = {0, 1};
    if (!(r.span() > 1e-12)) r = {r.low - 0.5, r.high + 0.5};
    const double step = tick_step(r);
    return {std::floor(r.low / step) * step, std::ceil(r.high / step) * step};
}

class Panel {
public:
    Panel(std::string& svg, double left, Range x, Range y) : svg_(svg), left_(left), x_(x), y_(y) {}

    double px(double v) const { return left_ + margin_left + (v - x_.low) / x_.span() * plot_width(); }
    double py(double v) const { return margin_top + (y_.high - v) / y_.span() * plot_height(); }

    void axes(const std::string& title, const std::string& y_label) {
        const double x0 = px(x_.low), x1 = px(x_.high), y0 = py(y_.low), y1 = py(y_.high);
        for (const auto& [range, vertical] : {std::pair{x_, true}, std::pair{y_, false}}) {
            const double step = vertical ? std::max(1.0, std::round(tick_step(range))) : tick_step(range);
            for (double t = std::ceil(range.low / step - 1e-9) * step; t <= range.high + 1e-9 * step; t += step)
                tick(t, vertical, decimals_for(step));
        }
        svg_ += "<rect x='" + number(x0, 1) + "' y='" + number(y1, 1) + "' width='" + number(x1 - x0, 1) +
                "' height='" + number(y0 - y1, 1) + "' fill='none' stroke='#333'/>\n";
        text(left_ + margin_left + plot_width() / 2, 30, title, "middle", "font-size='16' font-weight='bold'");
        text(left_ + margin_left + plot_width() / 2, y0 + 42, "epoch", "middle", "");
        svg_ += "<text transform='translate(" + number(left_ + 18, 1) + "," + number(margin_top + plot_height() / 2, 1) +
                ") rotate(-90)' text-anchor='middle'>" + y_label + "</text>\n";
    }

    // One polyline per run of finite values: a NaN or Inf leaves a gap
    // rather than a coordinate no viewer can draw; a lone point is a dot.
    void curve(const Series& s) {
        std::size_t i = 0;
        do {
            const std::size_t first = i;
            std::string points;
            for (; i < s.values.size() && std::isfinite(s.values[i]); ++i)
                points += number(px(double(i + 1)), 1) + "," + number(py(s.values[i]), 1) + " ";
            svg_ += "<polyline fill='none' stroke='" + std::string(s.color) + "' stroke-width='2' points='" + points +
                    "'/>\n";
            if (i - first == 1)
                svg_ += "<circle cx='" + number(px(double(i)), 1) + "' cy='" + number(py(s.values[first]), 1) +
                        "' r='3' fill='" + s.color + "'/>\n";
            while (i < s.values.size() && !std::isfinite(s.values[i])) ++i;
        } while (i < s.values.size());
    }

    void marker(double epoch) {
        const double x = px(epoch);
        svg_ += "<line x1='" + number(x, 1) + "' y1='" + number(py(y_.low), 1) + "' x2='" + number(x, 1) + "' y2='" +
                number(py(y_.high), 1) + "' stroke='#555' stroke-dasharray='5,4'/>\n";
    }

    // Entries are (label, colour, dashed); at the top right, or the bottom
    // right where rising curves (accuracy) would run under it.
    void legend(const std::vector<LegendEntry>& entries, bool at_top) {
        const double box_height = 20.0 * double(entries.size()) + 6, box_width = 150;
        const double x = px(x_.high) - box_width - 4;
        double y = at_top ? py(y_.high) + 4 : py(y_.low) - box_height - 4;
        svg_ += "<rect x='" + number(x, 1) + "' y='" + number(y, 1) + "' width='" + number(box_width, 1) +
                "' height='" + number(box_height, 1) + "' fill='white' fill-opacity='0.85' stroke='#bbb'/>\n";
        for (const LegendEntry& e : entries) {
            y += 20;
            svg_ += "<line x1='" + number(x + 8, 1) + "' y1='" + number(y - 4, 1) + "' x2='" + number(x + 32, 1) +
                    "' y2='" + number(y - 4, 1) + "' stroke='" + e.color + "' stroke-width='2'" +
                    (e.dashed ? " stroke-dasharray='5,4'" : "") + "/>\n";
            text(x + 38, y, e.label, "start", "font-size='12'");
        }
    }

private:
    double plot_width() const { return panel_width - margin_left - 20; }
    double plot_height() const { return panel_height - margin_top - margin_bottom; }

    void tick(double value, bool on_x_axis, int decimals) {
        if (std::fabs(value) < 1e-12) value = 0;  // no "-0.0" from accumulated steps
        const double x = on_x_axis ? px(value) : px(x_.low), y = on_x_axis ? py(y_.low) : py(value);
        const std::string grid = on_x_axis ? "x1='" + number(x, 1) + "' y1='" + number(py(y_.high), 1) + "' x2='" +
                                                 number(x, 1) + "' y2='" + number(y, 1) + "'"
                                           : "x1='" + number(x, 1) + "' y1='" + number(y, 1) + "' x2='" +
                                                 number(px(x_.high), 1) + "' y2='" + number(y, 1) + "'";
        svg_ += "<line " + grid + " stroke='#e5e5e5'/>\n";
        if (on_x_axis)
            text(x, y + 18, number(value, decimals), "middle", "font-size='11'");
        else
            text(x - 6, y + 4, number(value, decimals), "end", "font-size='11'");
    }

    void text(double x, double y, const std::string& content, const char* anchor, const std::string& style) {
        svg_ += "<text x='" + number(x, 1) + "' y='" + number(y, 1) + "' text-anchor='" + anchor + "' " + style + ">" +
                content + "</text>\n";
    }

    std::string& svg_;
    double left_;
    Range x_, y_;
};

void draw_panel(std::string& svg, double left, const std::string& title, const std::string& y_label,
                const Series& train, const Series& valid, std::size_t best_epoch, bool legend_at_top) {
    Panel panel(svg, left, {1, std::max(2.0, double(train.values.size()))}, padded_range({&train, &valid}));
    panel.axes(title, y_label);
    std::vector<LegendEntry> legend{{train.label, train.color, false}, {valid.label, valid.color, false}};
    if (best_epoch > 0) {
        panel.marker(double(best_epoch));
        legend.push_back({"kept: epoch " + std::to_string(best_epoch), "#555", true});
    }
    panel.curve(train);
    panel.curve(valid);
    panel.legend(legend, legend_at_top);
}

Series column(const History& history, const char* label, const char* color, double EpochRecord::*field) {
    Series s{label, color, {}};
    for (const EpochRecord& r : history) s.values.push_back(r.*field);
    return s;
}

}  // namespace

std::string plot_svg(const History& history, std::size_t best_epoch) {
    // A run on targets measures no accuracy (NaN throughout): no panel for it.
    const bool accuracy = history.empty() || std::any_of(history.begin(), history.end(), [](const EpochRecord& r) {
                              return !std::isnan(r.train_accuracy) || !std::isnan(r.valid_accuracy);
                          });
    const double width = accuracy ? 2 * panel_width + gap : panel_width;
    std::string svg = "<svg xmlns='http://www.w3.org/2000/svg' width='" + number(width, 0) + "' height='" +
                      number(panel_height, 0) + "' viewBox='0 0 " + number(width, 0) + " " + number(panel_height, 0) +
                      "' font-family='sans-serif' font-size='13'>\n<rect width='100%' height='100%' fill='white'/>\n";
    draw_panel(svg, 0, "Loss", accuracy ? "mean cross-entropy" : "mean loss",
               column(history, "train", train_color, &EpochRecord::train_loss),
               column(history, "validation", valid_color, &EpochRecord::valid_loss), best_epoch, /*legend_at_top=*/true);
    if (accuracy)
        draw_panel(svg, panel_width + gap, "Accuracy", "fraction correct",
                   column(history, "train", train_color, &EpochRecord::train_accuracy),
                   column(history, "validation", valid_color, &EpochRecord::valid_accuracy), best_epoch,
                   /*legend_at_top=*/false);
    return svg + "</svg>\n";
}

}  // namespace tapegrad::train
