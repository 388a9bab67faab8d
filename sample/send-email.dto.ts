import { IsEmail, IsOptional, IsString, MaxLength } from 'class-validator';

/** Arguments of the `email.send` task, validated on enqueue and again in the worker. */
export class SendEmailDto {
  @IsEmail()
  to!: string;

  @IsString()
  @MaxLength(120)
  subject!: string;

  @IsOptional()
  @IsString()
  body?: string;
}
