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

# The buttons on a result: run the same task again, as it was or changed first
RESULT_BUTTONS = "result_buttons"
RUN_AGAIN = "run_again"
CHANGE_AND_RUN = "change_and_run"

# Conversations in threads (mentions, DMs) and their browser sessions
CLOSE_SESSION = "close_session"
BUSY_BUTTONS = "busy_buttons"
QUEUE_FOLLOW_UP = "queue_follow_up"

# The Workflow Builder step (manifest.yaml declares it under `functions`)
RUN_BROWSER_TASK = "run_browser_task"

# The Messages tab (features.agent_view in manifest.yaml): the same four prompts, shown when a
# person opens the DM. Titles are what the button says; messages are what it sends.
SUGGESTED_PROMPTS = (
    {
        "title": "Check a price",
        "message": "Find the current price of the Sony WH-1000XM5 on amazon.com",
    },
    {
        "title": "Read a page for me",
        "message": "Open https://status.slack.com and tell me if anything is degraded",
    },
    {
        "title": "Compare options",
        "message": "Compare the three cheapest flights from Berlin to Lisbon next Friday",
    },
    {
        "title": "Fill in a form",
        "message": "Go to https://example.com/contact and draft a message asking for a quote",
    },
)

# Channel defaults (`/browser-use settings`)
CHANNEL_SETTINGS = "channel_settings"
OPEN_CHANNEL_SETTINGS = "open_channel_settings"

# The admin's settings (App Home → Settings)
OPEN_ADMIN_SETTINGS = "open_admin_settings"
ADMIN_SETTINGS_VIEW = "admin_settings"

# Recurring tasks (`/browser-use every …`, `/browser-use schedules`, App Home): the buttons on
# each schedule in a list; their block is SCHEDULE_BUTTONS:<schedule ID>
SCHEDULE_BUTTONS = "schedule"
SCHEDULE_PAUSE = "schedule_pause"
SCHEDULE_RESUME = "schedule_resume"
SCHEDULE_RUN_NOW = "schedule_run_now"
SCHEDULE_DELETE = "schedule_delete"
# The task form's repeat fields
REPEAT_BLOCK = "repeat"
REPEAT_AT_BLOCK = "repeat_at"
REPEAT_SWITCHES_BLOCK = "repeat_switches"
