"""The flows between Slack and the core: what a listener calls once it has acked.

Each flow knows Slack (through `handlers.slack_io`), the app's dependencies (`bot.deps`) and the
pure views; none is a listener, and no view imports one. Starting a task (`submit`), what the
task buttons do (`controls`), a thread's browser (`conversations`), the tracker's Slack side
(`following`), recurring tasks, the task form's submission (`modals`), App Home, channel defaults,
the admin's settings, and the Workflow Builder step.
"""
