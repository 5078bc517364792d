#!/bin/sh
# Re-vendors the JavaScript the HTML report embeds (report/html.c), from the npm registry, at
# the versions pinned below.  Run it only on purpose (to upgrade), then read `git diff` and
# check the licenses: each package's built file goes to report/vendor/<package>/ with its
# LICENSE, and VERSIONS records what was taken.  The build never runs this: it embeds the
# files that are committed (cmake/EmbedFiles.cmake), so building needs no network.
#
#   report/vendor/update.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# In load order: each package after those it needs.  d3-flame-graph (Apache-2.0) draws the
# flame graph; the d3 modules (ISC; d3-ease BSD-3-Clause) are its dependencies.
packages="
	d3-array@3.2.4
	d3-color@3.1.0
	d3-dispatch@3.0.1
	d3-ease@3.0.1
	d3-format@3.1.0
	d3-interpolate@3.0.1
	d3-time@3.1.0
	d3-time-format@4.1.0
	d3-scale@4.0.2
	d3-selection@3.0.0
	d3-timer@3.0.1
	d3-transition@3.0.1
	d3-hierarchy@3.1.2
	d3-flame-graph@5.0.0
"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
(cd "$tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund --ignore-scripts $packages >/dev/null)
: > "$here/VERSIONS"
for spec in $packages; do
	name=${spec%@*}
	src=$tmp/node_modules/$name
	mkdir -p "$here/$name"
	case $name in
	d3-flame-graph) file=d3-flamegraph.umd.min.js ;;
	*) file=$name.min.js ;;
	esac
	cp "$src/dist/$file" "$here/$name/$file"
	cp "$src/LICENSE" "$here/$name/LICENSE"
	version=$(node -p "require('$src/package.json').version")
	license=$(node -p "require('$src/package.json').license")
	echo "$name $version $license $name/$file" >> "$here/VERSIONS"
done
cat "$here/VERSIONS"
