#!/usr/bin/env bash
# Builds tests/consumer/ (a program of one's own, outside tapegrad's tree)
# against tapegrad each way docs/install.md shows, and runs every program it
# builds; then checks that the GCC 12 workaround travels with the flags
# exactly where it is needed, and that wrong compile flags are refused.
#   tests/consumer/run.sh BUILD_DIR
# BUILD_DIR: a configured and built tapegrad build tree; its `meson install`
# goes to a temporary DESTDIR (nothing is rebuilt), which is then moved, and
# every build below uses that one moved install. Only the subproject way
# compiles tapegrad again, the library alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: tests/consumer/run.sh BUILD_DIR}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Nothing of the caller's environment may help a build find tapegrad.
unset PKG_CONFIG_PATH CMAKE_PREFIX_PATH LD_LIBRARY_PATH CXXFLAGS CPPFLAGS LDFLAGS CMAKE_BUILD_TYPE

step() { printf '\n== %s\n' "$*"; }
show() { printf '+ %s\n' "$*" >&2; "$@"; }  # (on stderr: the command's output may go to a file)
fail() { echo "$*" >&2; exit 1; }
install_doc=$repo/docs/install.md

step "docs/install.md's snippets are the files of tests/consumer"
# Each ```-block preceded by `<!-- tests/consumer/FILE -->` must be that
# file: in docs/install.md, which has one for each, and in README.md and the
# other pages wherever they have one.
for file in meson.build CMakeLists.txt tapegrad.wrap; do
    marker="<!-- tests/consumer/$file -->"
    grep -qxF -- "$marker" "$install_doc" || fail "docs/install.md has no block marked $marker"
    for page in "$repo/README.md" "$repo"/docs/*.md; do
        grep -qxF -- "$marker" "$page" || continue
        awk -v marker="$marker" '
            $0 == marker { armed = 1; next }
            armed && /^```/ { if (inside) exit; inside = 1; next }
            inside { print }' "$page" > "$work/snippet"
        if ! cmp -s "$work/snippet" "$here/$file"; then
            diff "$work/snippet" "$here/$file" >&2 || true
            fail "${page#"$repo"/}'s block marked tests/consumer/$file differs from the file"
        fi
        echo "$file: same in ${page#"$repo"/}"
    done
done
# The command lines below are docs/install.md's, character for character.
documented() {
    grep -qF -- "$1" "$install_doc" || fail "docs/install.md does not show: $1"
}

step "install $build with --destdir, then move it"
option() {  # a builtin option of the build tree
    meson introspect "$build" --buildoptions |
        python3 -c "import json, sys; print(next(o['value'] for o in json.load(sys.stdin) if o['name'] == '$1'))"
}
prefix=$(option prefix) libdir=$(option libdir) includedir=$(option includedir) datadir=$(option datadir)
show meson install -C "$build" --destdir "$work/root" --quiet
root=$work/root$prefix
case $libdir in /*) libdir=${libdir#"$prefix"/} ;; esac
case $datadir in /*) datadir=${datadir#"$prefix"/} ;; esac
# The installed tree is relocatable: move it, so that no path recorded at
# install time can be what makes the builds below work.
mv "$root" "$work/prefix"
root=$work/prefix
find "$root" -type f | sed "s|^$root/||" | sort | grep -v '^include/tapegrad/.*/' | grep -v "^$datadir/doc/tapegrad/" || true
echo "(and $(find "$root/$includedir/tapegrad" -mindepth 2 -name '*.hpp' | wc -l) headers in the layer folders)"
# The documentation: what the source tree has, in the same places.
doc=$root/$datadir/doc/tapegrad
expected_docs=$(cd "$repo" && { ls README.md LICENSE CHANGELOG.md; find docs -type f;
                                 find examples -name '*.[ch]pp' -o -name '*.py'; } | sort)
installed_docs=$(cd "$doc" && find . -type f | sed 's|^\./||' | sort)
[ "$installed_docs" = "$expected_docs" ] || {
    diff <(echo "$expected_docs") <(echo "$installed_docs") >&2 || true
    fail "share/doc/tapegrad differs from the source tree's documentation and examples (< source, > installed)"; }
echo "documentation: $(wc -l <<<"$installed_docs") files in $datadir/doc/tapegrad, as in the source tree"

consumer_dir() {  # a copy of tests/consumer, as a project of its own
    mkdir -p "$work/$1"
    cp "$here/main.cpp" "$here/meson.build" "$here/CMakeLists.txt" "$work/$1/"
    echo "$work/$1"
}
runs() {  # runs the program, which finds libtapegrad.so (if any) in this test's trees only
    local found
    found=$(ldd "$1" | grep -o 'libtapegrad[^ ]* => [^ ]*' || echo 'none (static)')
    echo "$(basename "$1")'s libtapegrad: $found"
    case $found in "none (static)" | *" => $work/"* | *" => $build/"*) ;;
        *" => not") fail "$1 does not find libtapegrad" ;;
        *) fail "$1 finds libtapegrad outside this test's install and build trees: $found" ;; esac
    show "$1"
}
is_static() {
    if ldd "$1" | grep tapegrad; then fail "$1 is linked against the shared library"; fi
}
export PKG_CONFIG_PATH="$root/$libdir/pkgconfig"
show pkg-config --cflags --libs tapegrad
show pkg-config --libs tapegrad-static

step "1. pkg-config, the shared library with an rpath"
pkgconfig_shared='c++ -std=c++17 -O2 main.cpp -o consumer $(pkg-config --cflags --libs tapegrad) -Wl,-rpath,$(pkg-config --variable=libdir tapegrad)'
documented "$pkgconfig_shared"
src=$(consumer_dir pkgconfig-shared)
(cd "$src" && echo "+ $pkgconfig_shared" && eval "$pkgconfig_shared")
readelf -d "$src/consumer" | grep -E 'R(UN)?PATH'
runs "$src/consumer"

step "2. pkg-config, the static library (tapegrad-static)"
pkgconfig_static='c++ -std=c++17 -O2 main.cpp -o consumer $(pkg-config --cflags --libs tapegrad-static)'
documented "$pkgconfig_static"
src=$(consumer_dir pkgconfig-static)
(cd "$src" && echo "+ $pkgconfig_static" && eval "$pkgconfig_static")
is_static "$src/consumer"
runs "$src/consumer"

step "3. meson, tapegrad found by pkg-config; the installed program runs too"
src=$(consumer_dir meson)
show meson setup "$src/build" "$src" --prefix "$work/meson-installed" > /dev/null
show ninja -C "$src/build" --quiet
runs "$src/build/consumer"
show meson install -C "$src/build" --quiet
runs "$work/meson-installed/bin/consumer"
# The static archive: meson's prefer_static.
documented "meson setup -Dprefer_static=true"
show meson setup -Dprefer_static=true "$src/build-static" "$src" > /dev/null
show ninja -C "$src/build-static" --quiet
is_static "$src/build-static/consumer"
runs "$src/build-static/consumer"
unset PKG_CONFIG_PATH

step "4. CMake, find_package(tapegrad): optimised without a build type; the installed program runs too"
src=$(consumer_dir cmake)
documented "cmake -S . -B build -DCMAKE_PREFIX_PATH="
show cmake -S "$src" -B "$src/build" -G Ninja -DCMAKE_PREFIX_PATH="$root" -DCMAKE_INSTALL_PREFIX="$work/cmake-installed" \
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON > "$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; exit 1; }
! grep -A3 'CMake Warning' "$work/cmake.log" || fail "CMake warned"
grep -q -- ' -O3 ' "$src/build/compile_commands.json" || fail "main.cpp was not compiled optimised (-O3) by default"
echo "main.cpp compiled with -O3 (CMakeLists.txt's default build type, Release)"
show ninja -C "$src/build" --quiet
runs "$src/build/consumer"
show cmake --install "$src/build" > /dev/null
runs "$work/cmake-installed/bin/consumer"
# The static archive: tapegrad_USE_STATIC_LIBS, as CMake's own packages.
documented "-Dtapegrad_USE_STATIC_LIBS=ON"
show cmake -S "$src" -B "$src/build-static" -G Ninja -DCMAKE_PREFIX_PATH="$root" \
    -Dtapegrad_USE_STATIC_LIBS=ON > "$work/cmake-static.log" || { cat "$work/cmake-static.log"; exit 1; }
show ninja -C "$src/build-static" --quiet
is_static "$src/build-static/consumer"
runs "$src/build-static/consumer"
# A project that sets no build type is told, by tapegrad's package, what it
# costs (configure only).
mkdir "$work/cmake-no-build-type"
sed '/^if(NOT CMAKE_BUILD_TYPE/,/^endif()/d' "$here/CMakeLists.txt" > "$work/cmake-no-build-type/CMakeLists.txt"
cp "$here/main.cpp" "$work/cmake-no-build-type/"
! grep -q CMAKE_BUILD_TYPE "$work/cmake-no-build-type/CMakeLists.txt" || fail "could not take the default build type out"
show cmake -S "$work/cmake-no-build-type" -B "$work/cmake-no-build-type/build" -G Ninja -DCMAKE_PREFIX_PATH="$root" \
    > "$work/cmake-no-build-type.log" 2>&1 || { cat "$work/cmake-no-build-type.log"; exit 1; }
grep -A2 'tapegrad: CMAKE_BUILD_TYPE is empty' "$work/cmake-no-build-type.log" ||
    { cat "$work/cmake-no-build-type.log"; fail "no warning about the empty build type"; }

step "5. meson, tapegrad as a subproject (subprojects/tapegrad.wrap)"
src=$(consumer_dir subproject)
mkdir "$src/subprojects"
cp "$here/tapegrad.wrap" "$src/subprojects/"
ln -s "$repo" "$src/subprojects/tapegrad"   # or a git submodule, or a copy
show meson setup --force-fallback-for=tapegrad "$src/build" "$src" > "$work/subproject.log"
# Only the library and the consumer: none of tapegrad's tests, examples or
# benchmarks, nor their dependencies.
if grep -Ei 'doctest|cli11|nlohmann' "$src/build/meson-logs/meson-log.txt"; then
    fail "the subproject build looked for a test or example dependency"
fi
targets=$(ninja -C "$src/build" -t targets all | grep -E '^[^ ]+: (cpp_LINKER|STATIC_LINKER|cpp_LINKER_RSP)' | cut -d: -f1 | sort)
echo "linked targets:" $targets
# (libtapegrad_one_thread_gemm.a: one file of the library compiled with
# other flags and linked whole into it, meson.build.)
[ "$targets" = "$(printf '%s\n' consumer subprojects/tapegrad/libtapegrad.a subprojects/tapegrad/libtapegrad.so.0.2.0 \
                  subprojects/tapegrad/libtapegrad_one_thread_gemm.a | sort)" ] ||
    fail "the subproject build has other targets than the library and the consumer"
show ninja -C "$src/build" --quiet
runs "$src/build/consumer"
tests=$(meson introspect "$src/build" --tests)
echo "tests in the subproject build: $tests"
[ "$tests" = "[]" ] || fail "tapegrad's tests came with the subproject"
installed=$(meson introspect "$src/build" --installed)
! grep -q 'share/doc/tapegrad' <<<"$installed" || fail "the subproject installs tapegrad's documentation"
subproject_build=$src/build

step "6. $build uninstalled (meson-uninstalled/): pkg-config and meson"
export PKG_CONFIG_PATH="$build/meson-uninstalled"
documented "PKG_CONFIG_PATH=\$TAPEGRAD_BUILD/meson-uninstalled"
show pkg-config --cflags --libs tapegrad-static
src=$(consumer_dir uninstalled)
(cd "$src" && echo "+ $pkgconfig_static" && eval "$pkgconfig_static")
is_static "$src/consumer"
runs "$src/consumer"
show meson setup "$src/build" "$src" > /dev/null
show ninja -C "$src/build" --quiet
runs "$src/build/consumer"
unset PKG_CONFIG_PATH

step "7. the GCC 12 workaround (-fno-tree-slp-vectorize) comes with the flags where it is needed"
cflags=$(PKG_CONFIG_PATH="$root/$libdir/pkgconfig" pkg-config --cflags tapegrad)
workaround=-fno-tree-slp-vectorize
without_workaround=${cflags//$workaround/}
# Needed: scripts/brace_lists.cpp, meson.build's probe, fails without it
# under tapegrad's other flags, compiled here as a consumer compiles.
show c++ -std=c++17 -O2 $without_workaround "$repo/scripts/brace_lists.cpp" -o "$work/brace_lists"
if "$work/brace_lists"; then needed=no; else needed=yes; fi
echo "brace lists miscompiled without $workaround: $needed"
given() {  # whether the words hold the flag
    if grep -qw -- "$workaround" <<<"$1"; then echo yes; else echo no; fi
}
main_command() {  # main.cpp's compile command in a build's compile_commands.json
    python3 -c "import json, sys; print(next(c['command'] for c in json.load(open(sys.argv[1])) if c['file'].endswith('main.cpp')))" "$1/compile_commands.json"
}
for where in "pkg-config --cflags tapegrad|$cflags" \
             "pkg-config --cflags tapegrad-static|$(PKG_CONFIG_PATH="$root/$libdir/pkgconfig" pkg-config --cflags tapegrad-static)" \
             "CMake's target tapegrad::tapegrad|$(main_command "$work/cmake/build")" \
             "meson's dependency('tapegrad') from the subproject|$(main_command "$subproject_build")"; do
    got=$(given "${where#*|}")
    echo "${where%%|*} gives $workaround: $got"
    [ "$got" = "$needed" ] || fail "${where%%|*} should give $workaround iff brace lists need it"
done
show c++ -std=c++17 -O2 $cflags "$repo/scripts/brace_lists.cpp" -o "$work/brace_lists"
show "$work/brace_lists" || fail "brace lists miscompiled with tapegrad's flags"

step "8. the wrong flags are refused at compile time"
compile() {  # compile main.cpp (no code generation) with the given flags
    c++ -std=c++17 -fsyntax-only "$@" "$here/main.cpp"
}
echo "tapegrad's flags: $cflags"
# With them it compiles: what fails below fails for the flag it lacks.
compile $cflags
without_xsimd=${cflags//-DXTENSOR_USE_XSIMD/}
echo "+ c++ -fsyntax-only (tapegrad's flags without -DXTENSOR_USE_XSIMD) main.cpp"
if compile $without_xsimd > "$work/no-xsimd.log" 2>&1; then
    fail "compiled without -DXTENSOR_USE_XSIMD"
fi
grep -m1 -F 'error: #error "tapegrad was built with -DXTENSOR_USE_XSIMD' "$work/no-xsimd.log" || {
    cat "$work/no-xsimd.log" >&2; fail "no error naming -DXTENSOR_USE_XSIMD"; }

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
        fail "compiled with $other"
    fi
    grep -m1 'static assertion failed: tapegrad was built with other CPU flags' "$work/other-cpu.log" || {
        cat "$work/other-cpu.log" >&2; fail "no static_assert about the CPU flags"; }
fi

step "all consumer builds passed"
