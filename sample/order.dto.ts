import { IsEmail, IsInt, IsString, Min, MinLength } from 'class-validator';

/** Params of the `orders.fulfil` workflow, validated when a run is started. */
export class FulfilOrderDto {
  @IsString()
  @MinLength(1)
  orderId!: string;

  /** Amount in cents. */
  @IsInt()
  @Min(1)
  amount!: number;

  @IsEmail()
  email!: string;
}
