import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Schedule, Schedules, StemModule, StemScheduler, Task } from 'nestjs-stem';

@Injectable()
export class Trials {
  constructor(private readonly scheduler: StemScheduler) {}

  async remind(to: string, trialEndsAt: Date) {
    // #region scheduler
    await this.scheduler.add({ id: 'trial.reminder', task: 'email.send', args: { to, subject: 'Trial ends soon' }, schedule: Schedules.at(trialEndsAt) });
    await this.scheduler.disable('digest.morning'); // survives restarts and redeploys
    await this.scheduler.enable('digest.morning'); // next run counted from now
    await this.scheduler.preview('digest.morning', 5); // next 5 run times
    await this.scheduler.list();
    // #endregion
    return this.scheduler.preview('digest.morning', 5);
  }
}

// #region schedules
@Injectable()
export class ReportTasks {
  // On a @Task() method: schedules that task.
  @Schedule({ id: 'digest.morning', cron: '0 8 * * mon-fri', timezone: 'Europe/London' })
  @Schedule({ id: 'digest.catch-up', every: '6h', jitter: '30s', args: { late: true } })
  @Task({ name: 'digest.send', queue: 'mail' })
  async sendDigest(args: { late?: boolean }) {
    return args.late ? 'late digest' : 'digest';
  }

  // Declared elsewhere: name the task.
  @Schedule({ id: 'lights.on', solar: { event: 'sunset', latitude: 51.5074, longitude: -0.1278, offset: '-30m' }, task: 'lights.switch' })
  @Schedule({ id: 'launch', at: '2030-06-01T12:00:00Z', task: 'launch.announce' }) // once, then disabled
  schedules() {}
}

@Module({
  imports: [StemModule.forRoot({ broker: process.env.STEM_BROKER_URL ?? 'redis://127.0.0.1:6379', beat: true })],
  providers: [ReportTasks, Trials], // Trials injects StemScheduler (below)
})
export class SchedulerModule {}
// #endregion
