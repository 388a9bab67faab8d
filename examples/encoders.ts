import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { StemModule, Task, type TaskPayloadEncoder } from 'nestjs-stem';

// #region encoders
const base64: TaskPayloadEncoder = {
  id: 'base64',
  encode: (value) => Buffer.from(value as Uint8Array).toString('base64'),
  decode: (stored) => Buffer.from(stored as string, 'base64'),
};

@Injectable()
export class ImageTasks {
  @Task({ name: 'image.thumbnail', argsEncoder: 'base64', resultEncoder: 'base64' })
  async thumbnail(image: Buffer): Promise<Buffer> {
    return image.subarray(0, 4);
  }
}

@Module({
  imports: [StemModule.forRoot({ broker: 'memory://', encoders: { encoders: [base64] } })],
  providers: [ImageTasks],
})
export class ImageModule {}
// #endregion
