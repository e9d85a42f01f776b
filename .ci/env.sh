# Sourced by the .ci scripts: make sure the toolchains this project's kind of
# machine installs are on PATH even in a non-login shell (rustup's cargo, and
# pyenv's CPython, the one Python we build and run against).
for d in "$HOME/.cargo/bin" "$HOME/.pyenv/bin" "$HOME/.pyenv/shims"; do
    case ":$PATH:" in
        *":$d:"*) ;;
        *) [ -d "$d" ] && PATH="$d:$PATH" ;;
    esac
done
export PATH
