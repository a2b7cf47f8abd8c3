/** A user's module: Inkwell's API is the module dev.inkwell. */
module dev.inkwell.example {
    requires dev.inkwell;
}
