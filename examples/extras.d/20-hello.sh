# 20-hello.sh - an extras.d dispatch script as DevStack plugins write them.
if is_service_enabled hello; then
    if [[ "$1" == "source" ]]; then
        source $TOP_DIR/lib/hello
    elif [[ "$1" == "stack" && "$2" == "install" ]]; then
        install_hello
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        configure_hello
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        start_hello
    fi
    if [[ "$1" == "unstack" ]]; then
        echo "stopping hello"
    fi
    if [[ "$1" == "clean" ]]; then
        cleanup_hello
    fi
fi
