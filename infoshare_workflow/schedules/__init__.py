"""Admin-scheduled sweeps ("review retained information regularly"): cron schedules, the
registry of jobs they run, and each run recorded once per due time, with its counts and report.
"""
