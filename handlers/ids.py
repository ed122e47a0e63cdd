"""Action, callback and block IDs in one place."""

COMMAND = "/browser-use"

# The task form (modal)
TASK_FORM = "task_form"
MORE_OPTIONS = "task_form_more_options"
VALUE = "value"  # the action_id of every input in the form; its block_id names the option
TASK_BLOCK = "task"
CHANNEL_BLOCK = "channel"
SWITCHES_BLOCK = "switches"

# Shortcuts (manifest.yaml declares the same callback IDs)
RUN_IN_BROWSER = "run_in_browser"
NEW_BROWSER_TASK = "new_browser_task"

# The buttons on a task's status message
TASK_BUTTONS = "task_buttons"
STOP_TASK = "stop_task"
LIVE_VIEW = "live_view"
SHARE_SESSION = "share_session"

# Conversations in threads (mentions, DMs) and their browser sessions
SESSION_BUTTONS = "session_buttons"
CLOSE_SESSION = "close_session"
BUSY_BUTTONS = "busy_buttons"
QUEUE_FOLLOW_UP = "queue_follow_up"

# The Workflow Builder step (manifest.yaml declares it under `functions`)
RUN_BROWSER_TASK = "run_browser_task"
