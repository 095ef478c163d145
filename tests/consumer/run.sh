#!/usr/bin/env bash
# Builds tests/consumer/ (a program of one's own, outside tapegrad's tree)
# against tapegrad the three ways docs/install.md shows, from a clean prefix, and
# runs it; then checks that wrong compile flags are refused at compile time.
#   tests/consumer/run.sh BUILD_DIR
# BUILD_DIR: a configured and built tapegrad build tree; its `meson install`
# goes to a temporary DESTDIR (nothing is rebuilt). Only the subproject way
# compiles tapegrad again, the library alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: tests/consumer/run.sh BUILD_DIR}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Nothing of the caller's environment may help a build find tapegrad.
unset PKG_CONFIG_PATH CMAKE_PREFIX_PATH LD_LIBRARY_PATH CXXFLAGS CPPFLAGS LDFLAGS

step() { printf '\n== %s\n' "$*"; }
show() { printf '+ %s\n' "$*" >&2; "$@"; }  # (on stderr: the command's output may go to a file)

step "docs/install.md's snippets are the files of tests/consumer"
# Each ```-block of docs/install.md preceded by `<!-- tests/consumer/FILE -->`
# must be that file.
for file in meson.build CMakeLists.txt tapegrad.wrap; do
    awk -v marker="<!-- tests/consumer/$file -->" '
        $0 == marker { armed = 1; next }
        armed && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }' "$repo/docs/install.md" > "$work/readme-$file"
    if ! [ -s "$work/readme-$file" ] || ! cmp -s "$work/readme-$file" "$here/$file"; then
        echo "docs/install.md's block marked tests/consumer/$file differs from the file:" >&2
        diff "$work/readme-$file" "$here/$file" >&2 || true
        exit 1
    fi
    echo "$file: same"
done

step "install $build into a clean prefix"
option() {  # a builtin option of the build tree
    meson introspect "$build" --buildoptions |
        python3 -c "import json, sys; print(next(o['value'] for o in json.load(sys.stdin) if o['name'] == '$1'))"
}
prefix=$(option prefix) libdir=$(option libdir) includedir=$(option includedir)
show meson install -C "$build" --destdir "$work/root" --quiet
root=$work/root$prefix
case $libdir in /*) libdir=${libdir#"$prefix"/} ;; esac
# The installed tree is relocatable: move it, so that no path recorded at
# install time can be what makes the builds below work.
mv "$root" "$work/prefix"
root=$work/prefix
find "$root" -type f | sed "s|^$root/||" | sort | grep -v '^include/tapegrad/.*/' || true
echo "(and $(find "$root/$includedir/tapegrad" -mindepth 2 -name '*.hpp' | wc -l) headers in the layer folders)"

consumer_dir() {  # a copy of tests/consumer, as a project of its own
    mkdir -p "$work/$1"
    cp "$here/main.cpp" "$here/meson.build" "$here/CMakeLists.txt" "$work/$1/"
    echo "$work/$1"
}

step "1. meson, tapegrad found by pkg-config"
src=$(consumer_dir pkgconfig)
show env PKG_CONFIG_PATH="$root/$libdir/pkgconfig" pkg-config --cflags --libs tapegrad
show env PKG_CONFIG_PATH="$root/$libdir/pkgconfig" pkg-config --static --libs tapegrad
show env PKG_CONFIG_PATH="$root/$libdir/pkgconfig" meson setup "$src/build" "$src" > /dev/null
show ninja -C "$src/build" --quiet
show "$src/build/consumer"
ldd "$src/build/consumer" | grep tapegrad
# The static archive: `pkg-config --static` gives what it needs.
show env PKG_CONFIG_PATH="$root/$libdir/pkgconfig" meson setup -Dprefer_static=true "$src/build-static" "$src" > /dev/null
show ninja -C "$src/build-static" --quiet
if ldd "$src/build-static/consumer" | grep tapegrad; then
    echo "linked against the shared library despite prefer_static" >&2; exit 1
fi
show "$src/build-static/consumer"

step "2. CMake, find_package(tapegrad)"
src=$(consumer_dir cmake)
show cmake -S "$src" -B "$src/build" -G Ninja -DCMAKE_PREFIX_PATH="$root" -DCMAKE_BUILD_TYPE=Release > "$work/cmake.log" ||
    { cat "$work/cmake.log"; exit 1; }
show ninja -C "$src/build" --quiet
show "$src/build/consumer"
ldd "$src/build/consumer" | grep tapegrad
# The static archive: tapegrad_USE_STATIC_LIBS, as CMake's own packages.
show cmake -S "$src" -B "$src/build-static" -G Ninja -DCMAKE_PREFIX_PATH="$root" -DCMAKE_BUILD_TYPE=Release \
    -Dtapegrad_USE_STATIC_LIBS=ON > "$work/cmake-static.log" || { cat "$work/cmake-static.log"; exit 1; }
show ninja -C "$src/build-static" --quiet
if ldd "$src/build-static/consumer" | grep tapegrad; then
    echo "linked against the shared library despite tapegrad_USE_STATIC_LIBS" >&2; exit 1
fi
show "$src/build-static/consumer"

step "3. meson, tapegrad as a subproject (subprojects/tapegrad.wrap)"
src=$(consumer_dir subproject)
mkdir "$src/subprojects"
cp "$here/tapegrad.wrap" "$src/subprojects/"
ln -s "$repo" "$src/subprojects/tapegrad"   # or a git submodule, or a copy
show meson setup --force-fallback-for=tapegrad "$src/build" "$src" > "$work/subproject.log"
# Only the library and the consumer: none of tapegrad's tests, examples or
# benchmarks, nor their dependencies.
if grep -Ei 'doctest|cli11|nlohmann' "$src/build/meson-logs/meson-log.txt"; then
    echo "the subproject build looked for a test or example dependency" >&2; exit 1
fi
targets=$(ninja -C "$src/build" -t targets all | grep -E '^[^ ]+: (cpp_LINKER|STATIC_LINKER|cpp_LINKER_RSP)' | cut -d: -f1 | sort)
echo "linked targets:" $targets
# (libtapegrad_one_thread_gemm.a: one file of the library compiled with
# other flags and linked whole into it, meson.build.)
[ "$targets" = "$(printf '%s\n' consumer subprojects/tapegrad/libtapegrad.a subprojects/tapegrad/libtapegrad.so.0.2.0 \
                  subprojects/tapegrad/libtapegrad_one_thread_gemm.a | sort)" ] || {
    echo "the subproject build has other targets than the library and the consumer" >&2; exit 1; }
show ninja -C "$src/build" --quiet
show "$src/build/consumer"
tests=$(meson introspect "$src/build" --tests)
echo "tests in the subproject build: $tests"
[ "$tests" = "[]" ] || { echo "tapegrad's tests came with the subproject" >&2; exit 1; }

step "4. the wrong flags are refused at compile time"
cflags=$(PKG_CONFIG_PATH="$root/$libdir/pkgconfig" pkg-config --cflags tapegrad)
compile() {  # compile main.cpp (no code generation) with the given flags
    c++ -std=c++17 -fsyntax-only "$@" "$here/main.cpp"
}
echo "tapegrad's flags: $cflags"
# With them it compiles: what fails below fails for the flag it lacks.
compile $cflags
without_xsimd=${cflags//-DXTENSOR_USE_XSIMD/}
echo "+ c++ -fsyntax-only (tapegrad's flags without -DXTENSOR_USE_XSIMD) main.cpp"
if compile $without_xsimd > "$work/no-xsimd.log" 2>&1; then
    echo "compiled without -DXTENSOR_USE_XSIMD" >&2; exit 1
fi
grep -m1 -F 'error: #error "tapegrad was built with -DXTENSOR_USE_XSIMD' "$work/no-xsimd.log" || {
    cat "$work/no-xsimd.log" >&2; echo "no error naming -DXTENSOR_USE_XSIMD" >&2; exit 1; }

# Other CPU flags: the first of these that gives xtensor another alignment
# than tapegrad's own must stop at config.hpp's static_assert.
alignment() {  # xtensor's default alignment under the given flags
    # (The compiler names the incomplete type Alignment<N>, and fails.)
    local message
    message=$(printf '#include <xtensor/xtensor_config.hpp>\ntemplate <int> struct Alignment;\nAlignment<XTENSOR_DEFAULT_ALIGNMENT> probe;\n' |
        c++ -std=c++17 -fsyntax-only "$@" -x c++ - 2>&1 || true)
    grep -o -m1 'Alignment<[0-9]*>' <<<"$message" | tr -dc 0-9 || true
}
built=$(sed -n 's/^#define TAPEGRAD_XTENSOR_ALIGNMENT //p' "$root/$includedir/tapegrad/config.hpp")
other=
for flags in "-mno-avx512f" "-mno-avx512f -mno-avx" "-march=x86-64" "-march=x86-64 -mavx2" "-march=x86-64 -mavx512f"; do
    a=$(alignment $cflags $flags)
    echo "xtensor's alignment with tapegrad's flags and $flags: ${a:-unknown} (tapegrad's: $built)"
    if [ -n "$a" ] && [ "$a" != "$built" ]; then other=$flags; break; fi
done
if [ -z "$other" ]; then
    echo "SKIPPED: none of these flags gives xtensor an alignment other than $built on this compiler"
else
    echo "+ c++ -fsyntax-only (tapegrad's flags) $other main.cpp"
    if compile $cflags $other > "$work/other-cpu.log" 2>&1; then
        echo "compiled with $other" >&2; exit 1
    fi
    grep -m1 'static assertion failed: tapegrad was built with other CPU flags' "$work/other-cpu.log" || {
        cat "$work/other-cpu.log" >&2; echo "no static_assert about the CPU flags" >&2; exit 1; }
fi

step "all consumer builds passed"
