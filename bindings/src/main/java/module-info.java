/**
 * jextract's bindings for Inkwell's C ABI. Internal: only the Java API module may read it.
 * Not generated (regenerate.sh leaves this file alone).
 */
module dev.inkwell.bindings {
    exports dev.inkwell.bindings to dev.inkwell;
}
