"""Plugin for examples/extend.rs (the talk's slides 15-18).

`my_module` is not a file anywhere: it lives in the host's memory, and each
call below runs Rust code in the host process.
"""

import my_module


def run():
    print(my_module.my_func())
    print(my_module.my_func())

    # Data crosses both ways: arguments are copied into host-owned strings.
    my_module.submit("requests.per_second", 12.5, tags=["env:dev", "role:web"])
    my_module.submit("queue.depth", 3)

    # Host errors arrive as Python exceptions a plugin can handle.
    try:
        my_module.submit("bad", float("nan"))
    except my_module.HostError as e:
        print(f"the host refused: {e}")
    try:
        my_module.submit(42, 1.0)
    except TypeError as e:
        print(f"wrong type: {e}")

    return f"{my_module.HOST_NAME} v{my_module.VERSION}"
