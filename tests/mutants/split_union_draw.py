"""A quarter of the resets draw the task from the whole benchmark (train + test tasks)."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _draw_task(self):
        rng = self.np_random
        if rng.random() < 0.25:  # bug: a "mixed" draw over both splits' tasks
            tasks = list(self.benchmark.train_tasks) + list(self.benchmark.test_tasks)
            task = tasks[int(rng.integers(len(tasks)))]
            if task.env_name not in self.env_funcs:
                classes = {**self.benchmark.train_classes, **self.benchmark.test_classes}
                self.env_funcs[task.env_name] = classes[task.env_name]
            return task.env_name, task
        return super()._draw_task()


BREAKS = frozenset({"KMW-TSK-1"})
