"""The long-running daemon: loop, scheduler, slots, day end, sd_notify, lock."""
