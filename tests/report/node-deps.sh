#!/bin/sh
# Installs the node packages the report tests use into a cache outside the source tree:
# ${HOTLOOP_CACHE:-/var/cache/hotloop}/node/node_modules.  Prints that directory.  Safe to run
# again: what is installed at the pinned version is kept.
set -eu
cache=${HOTLOOP_CACHE:-/var/cache/hotloop}/node
packages="playwright-core@1.65.1 speedscope@1.25.0 ajv@8.17.1"
mkdir -p "$cache"
missing=
for spec in $packages; do
	name=${spec%@*}
	version=${spec##*@}
	have=$(node -p "try { require('$cache/node_modules/$name/package.json').version } catch (e) { '' }" 2>/dev/null || true)
	[ "$have" = "$version" ] || missing="$missing $spec"
done
if [ -n "$missing" ]; then
	[ -f "$cache/package.json" ] || echo '{"name": "hotloop-test-tools", "private": true}' > "$cache/package.json"
	# shellcheck disable=SC2086
	(cd "$cache" && npm install --no-audit --no-fund --loglevel=error $missing >&2)
fi
echo "$cache/node_modules"
